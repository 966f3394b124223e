"""Recognise the fitted estimator structures the compiled predictor can reproduce.

Only the fixed pipeline shape the presets build is accepted (ColumnTransformer with
one TargetEncoder on the categorical columns, optional numeric passthrough, then a
GradientBoostingRegressor), optionally wrapped in a TransformedTargetRegressor with
a log-type target transform. Anything else is refused up front with
``UnsupportedModel``, because a compiled predictor that silently disagrees with the
pipeline is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from category_encoders import TargetEncoder
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from api.ml.schema import CATEGORICAL, NUMERIC

# inverse_func objects we can apply ourselves, by the name stored in the predictor
# (a name pickles; a ufunc reference would too, but the name also documents intent).
_INVERSES: dict[Any, str] = {np.exp: "exp", np.expm1: "expm1"}


class UnsupportedModel(ValueError):
    """The estimator is not a structure the compiled predictor reproduces exactly."""


class UnpredictableInput(ValueError):
    """An input row the scikit-learn pipeline would also refuse to predict."""


@dataclass(frozen=True)
class Structure:
    """The fitted parts the predictor is compiled from.

    ``layout`` lists, for every column the regressor sees (in its order), the
    feature name it comes from; categorical names mean "target-encoded value".
    """

    encoder: Any
    encoder_columns: tuple[str, ...]
    layout: tuple[str, ...]
    regressor: GradientBoostingRegressor
    inverse: str | None


def _check_fitted(estimator: Any, attribute: str, what: str) -> None:
    if not hasattr(estimator, attribute):
        raise UnsupportedModel(f"{what} is not fitted (it has no {attribute!r} attribute)")


def _unwrap_target(estimator: Any) -> tuple[Any, str | None]:
    """Return the inner pipeline and the name of the inverse target function."""
    if not isinstance(estimator, TransformedTargetRegressor):
        return estimator, None
    _check_fitted(estimator, "regressor_", "TransformedTargetRegressor")
    transformer = estimator.transformer_
    if type(transformer) is not FunctionTransformer:
        raise UnsupportedModel(
            "TransformedTargetRegressor must use func/inverse_func (a FunctionTransformer); "
            f"got a {type(transformer).__name__} target transformer"
        )
    if transformer.inv_kw_args:
        raise UnsupportedModel(
            "TransformedTargetRegressor inverse_func keyword arguments are not supported"
        )
    inverse_func = transformer.inverse_func
    if inverse_func is None:
        return estimator.regressor_, None
    name = next((n for f, n in _INVERSES.items() if f is inverse_func), None)
    if name is None:
        allowed = ", ".join(f"numpy.{n}" for n in _INVERSES.values())
        raise UnsupportedModel(
            f"TransformedTargetRegressor inverse_func {inverse_func!r} is not supported "
            f"(supported: {allowed})"
        )
    return estimator.regressor_, name


def _encoder_and_layout(ct: ColumnTransformer) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    _check_fitted(ct, "transformers_", "ColumnTransformer")
    names_in = [str(c) for c in getattr(ct, "feature_names_in_", [])]
    encoder: Any = None
    encoder_columns: tuple[str, ...] = ()
    parts: list[tuple[int, tuple[str, ...]]] = []
    for name, transformer, columns in ct.transformers_:
        selected = _column_names(columns, names_in)
        if (isinstance(transformer, str) and transformer == "drop") or not selected:
            continue
        start = ct.output_indices_[name].start
        if isinstance(transformer, TargetEncoder):
            if encoder is not None:
                raise UnsupportedModel("ColumnTransformer has more than one TargetEncoder")
            if sorted(selected) != sorted(CATEGORICAL):
                raise UnsupportedModel(
                    f"the TargetEncoder must encode exactly {list(CATEGORICAL)}, "
                    f"got {list(selected)}"
                )
            encoder, encoder_columns = transformer, selected
            parts.append((start, selected))
        elif name == "remainder" and ct.remainder == "passthrough":
            leaked = [c for c in selected if c not in NUMERIC]
            if leaked:
                raise UnsupportedModel(
                    "remainder='passthrough' passes columns that are not numeric features: "
                    f"{leaked}"
                )
            parts.append((start, selected))
        else:
            raise UnsupportedModel(
                f"ColumnTransformer step {name!r} ({type(transformer).__name__}) is not supported; "
                "only one TargetEncoder on type/sector plus remainder 'drop' or 'passthrough' is"
            )
    if encoder is None:
        raise UnsupportedModel("ColumnTransformer has no TargetEncoder on type/sector")
    parts.sort()
    layout = tuple(column for _, columns in parts for column in columns)
    return encoder, encoder_columns, layout


def _column_names(columns: Any, names_in: list[str]) -> tuple[str, ...]:
    """Resolve a ColumnTransformer column selection to names (it may hold indices)."""
    if isinstance(columns, slice) or callable(columns):
        raise UnsupportedModel("ColumnTransformer column selections must be explicit lists")
    if isinstance(columns, str | int):
        columns = [columns]
    names = []
    for column in list(columns):
        if isinstance(column, bool | np.bool_):
            raise UnsupportedModel("boolean column masks are not supported")
        if isinstance(column, int | np.integer):
            if not names_in:
                raise UnsupportedModel(
                    "positional columns need a ColumnTransformer fitted on a DataFrame"
                )
            names.append(names_in[int(column)])
        else:
            names.append(str(column))
    return tuple(names)


def recognise(estimator: Any) -> Structure:
    """Check the estimator's structure and return its fitted parts."""
    pipeline, inverse = _unwrap_target(estimator)
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedModel(
            "expected a Pipeline of two steps (ColumnTransformer, GradientBoostingRegressor), "
            f"got {type(pipeline).__name__}"
        )
    ct, regressor = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(ct, ColumnTransformer):
        raise UnsupportedModel(
            f"the first pipeline step must be a ColumnTransformer, got {type(ct).__name__}"
        )
    if type(regressor) is not GradientBoostingRegressor:
        raise UnsupportedModel(
            "the last pipeline step must be a GradientBoostingRegressor, "
            f"got {type(regressor).__name__}"
        )
    _check_fitted(regressor, "estimators_", "GradientBoostingRegressor")
    encoder, encoder_columns, layout = _encoder_and_layout(ct)
    if regressor.n_features_in_ != len(layout):
        raise UnsupportedModel(
            f"the regressor expects {regressor.n_features_in_} features but the ColumnTransformer "
            f"yields {len(layout)} ({list(layout)}); encoder options that add or drop columns "
            "(drop_invariant, composite_cols) are not supported"
        )
    return Structure(encoder, encoder_columns, layout, regressor, inverse)
