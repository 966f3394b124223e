"""Model presets and the validation of user-supplied hyperparameters.

``notebook`` is the client's notebook exactly: ``TargetEncoder()`` with its
default arguments, numeric columns dropped by the ColumnTransformer, and
``GradientBoostingRegressor(learning_rate=0.01, n_estimators=300, max_depth=5,
loss="absolute_error")`` with no random_state, trained on the rows as given.

``default`` is the improved model: every feature reaches the regressor, training
rows are cleaned (``api.ml.cleaning``), and the hyperparameters were chosen by
5-fold cross-validation (KFold, shuffled, seed 0) on the client's train.csv only;
``tests/ml/select_default.py`` reproduces the search and prints its table.

The cross-validated comparison of both presets and every candidate tried, with
what was learnt about the data's label noise, is in ``docs/model.md``.

Request parameters override a preset's values; ``resolve_params`` checks names,
types and ranges so a bad request fails before a worker spends minutes on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final


class ParamError(ValueError):
    """A preset name or hyperparameter the user supplied is not acceptable."""


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    # Numeric columns reach the regressor (ColumnTransformer remainder="passthrough").
    use_numeric: bool
    # Training rows pass through api.ml.cleaning before fitting.
    clean: bool
    params: Mapping[str, Any]


LOSSES: Final[frozenset[str]] = frozenset({"squared_error", "absolute_error", "huber", "quantile"})

_NOTEBOOK_PARAMS: Final[dict[str, Any]] = {
    "n_estimators": 300,
    "learning_rate": 0.01,
    "max_depth": 5,
    "loss": "absolute_error",
    "subsample": 1.0,
    "min_samples_leaf": 1,
    "min_samples_split": 2,
    "max_features": None,
    "alpha": 0.9,
    "random_state": None,
    # category_encoders.TargetEncoder() defaults.
    "encoder_smoothing": 1.0,
    "encoder_min_samples_leaf": 20,
    "log_target": False,
}

_DEFAULT_PARAMS: Final[dict[str, Any]] = {
    **_NOTEBOOK_PARAMS,
    "n_estimators": 1000,
    "learning_rate": 0.05,
    "max_depth": 8,
    "loss": "squared_error",
    "subsample": 0.8,
    "max_features": 0.6,
    "random_state": 0,
    "log_target": False,
}

PRESETS: Final[dict[str, Preset]] = {
    "notebook": Preset("notebook", use_numeric=False, clean=False, params=_NOTEBOOK_PARAMS),
    "default": Preset("default", use_numeric=True, clean=True, params=_DEFAULT_PARAMS),
}


def _integer(low: int, high: int) -> Callable[[str, object], object]:
    def check(name: str, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParamError(f"{name} must be an integer, got {value!r}")
        if not low <= value <= high:
            raise ParamError(f"{name} must be between {low} and {high}, got {value}")
        return value

    return check


def _fraction(*, low_open: bool, high: float = 1.0) -> Callable[[str, object], object]:
    """A float in (0, high] (low_open) or [0, high]."""

    def check(name: str, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ParamError(f"{name} must be a number, got {value!r}")
        number = float(value)
        too_low = number <= 0 if low_open else number < 0
        if too_low or number > high:
            bracket = "(0" if low_open else "[0"
            raise ParamError(f"{name} must be in {bracket}, {high:g}], got {value}")
        return number

    return check


def _optional(check: Callable[[str, object], object]) -> Callable[[str, object], object]:
    return lambda name, value: None if value is None else check(name, value)


def _loss(name: str, value: object) -> object:
    if value not in LOSSES:
        raise ParamError(f"{name} must be one of {', '.join(sorted(LOSSES))}, got {value!r}")
    return value


def _boolean(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise ParamError(f"{name} must be true or false, got {value!r}")
    return value


def _alpha(name: str, value: object) -> object:
    number = _fraction(low_open=True)(name, value)
    if number == 1.0:
        raise ParamError(f"{name} must be in (0, 1), got {value}")
    return number


_CHECKS: Final[dict[str, Callable[[str, object], object]]] = {
    "n_estimators": _integer(1, 5000),
    "learning_rate": _fraction(low_open=True),
    "max_depth": _integer(1, 20),
    "loss": _loss,
    "subsample": _fraction(low_open=True),
    "min_samples_leaf": _integer(1, 100_000),
    "min_samples_split": _integer(2, 100_000),
    "max_features": _optional(_fraction(low_open=True)),
    "alpha": _alpha,
    "random_state": _optional(_integer(0, 2**32 - 1)),
    "encoder_smoothing": _fraction(low_open=False, high=1e6),
    "encoder_min_samples_leaf": _integer(1, 100_000),
    "log_target": _boolean,
}
PARAM_NAMES: Final[tuple[str, ...]] = tuple(_CHECKS)


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        allowed = ", ".join(PRESETS)
        raise ParamError(f"unknown preset {name!r}; allowed: {allowed}") from None


def resolve_params(preset: str, overrides: Mapping[str, object]) -> dict[str, Any]:
    """The preset's hyperparameters with ``overrides`` applied, every value checked.

    The result holds every parameter (so it can be stored with the model and
    replayed) and only JSON types.
    """
    base = get_preset(preset).params
    unknown = sorted(set(overrides) - set(_CHECKS))
    if unknown:
        raise ParamError(
            f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(PARAM_NAMES)}"
        )
    resolved = {**base, **overrides}
    return {name: check(name, resolved[name]) for name, check in _CHECKS.items()}
