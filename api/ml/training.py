"""Building and fitting the model pipeline, with progress and cancellation.

The pipeline's structure is fixed for every preset (the fast predictor compiles
exactly this shape): a ColumnTransformer with a TargetEncoder on the categorical
columns, then a GradientBoostingRegressor; optionally wrapped in a
TransformedTargetRegressor(func=np.log, inverse_func=np.exp).

Evaluation: with ``test_df`` the model is fitted on all training rows and scored
on the test rows. Without it, a seeded 20 % of the training rows is held out,
a model is fitted on the other 80 % and scored on it; then (by default,
``refit=True``) the delivered model is refitted on all rows, so no data is
wasted. The reported metrics are thus an estimate for the delivered model,
made with 20 % less data, which makes them slightly pessimistic. Held-out and
test rows are never cleaned: metrics describe the rows users send.

Intervals (``api.ml.intervals``) are calibrated (split-conformal) on the same
rows the metrics come from, which the scored model never saw: the hold-out rows,
or the test rows. Their coverage is measured on held-out folds of those rows,
each covered by ranges calibrated on the others, so it is not an in-sample
figure, and no extra fit is needed when test data is given.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
import pandas as pd
from category_encoders import TargetEncoder
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.pipeline import Pipeline

from api.ml.cleaning import clean_training_rows
from api.ml.comparables import ComparablesIndex
from api.ml.intervals import (
    IntervalError,
    IntervalModel,
    calibrate,
    cross_covered,
    summarise,
)
from api.ml.metrics import compute_metrics
from api.ml.presets import get_preset, resolve_params
from api.ml.progress import PROGRESS_STEPS as PROGRESS_STEPS
from api.ml.progress import ProgressCallback, StageReporter, StopCheck
from api.ml.progress import TrainingCancelled as TrainingCancelled
from api.ml.schema import CATEGORICAL, FEATURES, NUMERIC, TARGET

HOLDOUT_FRACTION: Final[float] = 0.2
HOLDOUT_SEED: Final[int] = 20240601
MIN_TRAINING_ROWS: Final[int] = 10
_T = TypeVar("_T")


class TrainingDataError(ValueError):
    """The training or test data cannot produce a model (too few rows, bad target)."""


@dataclass(slots=True)
class TrainResult:
    estimator: Any
    preset: str
    params: dict[str, Any]
    metrics: dict[str, float | None]
    evaluation: dict[str, Any]
    rows: dict[str, Any] = field(default_factory=dict)
    fit_seconds: float = 0.0
    intervals: dict[str, Any] | None = None  # IntervalModel.to_json(), if calibrated
    comparables: ComparablesIndex | None = None  # of the rows the model was fitted on
    # The rows the metrics come from, with the evaluated model's predictions
    # (columns sector, type, actual, predicted): what the charts are drawn from.
    evaluation_rows: pd.DataFrame | None = None


def build_pipeline(preset: str, params: Mapping[str, Any]) -> Any:
    """An unfitted estimator for ``preset`` with resolved ``params`` (see resolve_params)."""
    spec = get_preset(preset)
    encoder = TargetEncoder(
        smoothing=params["encoder_smoothing"], min_samples_leaf=params["encoder_min_samples_leaf"]
    )
    regressor = GradientBoostingRegressor(
        n_estimators=params["n_estimators"],
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        loss=params["loss"],
        subsample=params["subsample"],
        min_samples_leaf=params["min_samples_leaf"],
        min_samples_split=params["min_samples_split"],
        max_features=params["max_features"],
        alpha=params["alpha"],
        random_state=params["random_state"],
    )
    pipeline = Pipeline(
        [
            (
                "encode",
                ColumnTransformer(
                    [("categorical", encoder, list(CATEGORICAL))],
                    remainder="passthrough" if spec.use_numeric else "drop",
                ),
            ),
            ("regressor", regressor),
        ]
    )
    if not params["log_target"]:
        return pipeline
    return TransformedTargetRegressor(
        regressor=pipeline, func=np.log, inverse_func=np.exp, check_inverse=False
    )


def _fit(estimator: Any, frame: pd.DataFrame, reporter: StageReporter) -> None:
    y = frame[TARGET].to_numpy(dtype=np.float64)
    if isinstance(estimator, TransformedTargetRegressor) and not (y > 0).all():
        raise TrainingDataError("log_target needs every training price to be above 0")
    estimator.fit(frame[FEATURES], y, regressor__monitor=reporter.monitor)


def _scored(
    frame: pd.DataFrame, predicted: Any, covered: dict[float, tuple[Any, Any]]
) -> pd.DataFrame:
    """``frame``'s rows with their predictions, for the charts, and per interval
    level (``inside_80``, ...) whether a cross-fitted range covered the price."""
    columns = {
        "sector": frame["sector"].to_numpy(),
        "type": frame["type"].to_numpy(),
        "actual": frame[TARGET].to_numpy(),
        "predicted": predicted,
    }
    for level, (inside, _width) in covered.items():
        columns[f"inside_{round(level * 100)}"] = inside
    return pd.DataFrame(columns)


def feature_importances(estimator: Any) -> dict[str, float]:
    """Each input feature's share of the boosted trees' impurity reduction."""
    pipeline = getattr(estimator, "regressor_", estimator)
    regressor = pipeline.named_steps["regressor"]
    spec_numeric = pipeline.named_steps["encode"].remainder == "passthrough"
    names = [*CATEGORICAL, *NUMERIC] if spec_numeric else list(CATEGORICAL)
    values = regressor.feature_importances_
    return {name: float(value) for name, value in zip(names, values, strict=True)}


def holdout_split(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the seeded hold-out rows and of the rest, each in file order."""
    order = np.random.default_rng(HOLDOUT_SEED).permutation(n_rows)
    n_holdout = max(1, round(HOLDOUT_FRACTION * n_rows))
    return np.sort(order[:n_holdout]), np.sort(order[n_holdout:])


def holdout_frame(train_df: pd.DataFrame) -> pd.DataFrame:
    """The rows ``train`` evaluates on when no test data is given (for re-scoring)."""
    return train_df.iloc[holdout_split(len(train_df))[0]]


def train(
    train_df: pd.DataFrame,
    *,
    preset: str = "default",
    params: Mapping[str, object] | None = None,
    test_df: pd.DataFrame | None = None,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
    refit: bool = True,
) -> TrainResult:
    """Fit ``preset`` (with ``params`` overrides) on validated rows and evaluate it.

    ``train_df``/``test_df`` come from ``validate_frame(..., require_target=True)``.
    Raises ParamError, TrainingDataError or TrainingCancelled.
    """
    resolved = resolve_params(preset, params or {})
    spec = get_preset(preset)
    reporter = StageReporter(progress, should_stop)
    if len(train_df) < MIN_TRAINING_ROWS:
        raise TrainingDataError(
            f"training needs at least {MIN_TRAINING_ROWS} valid rows, got {len(train_df)}"
        )
    if test_df is not None and len(test_df) == 0:
        raise TrainingDataError("the test data has no valid rows")

    def prepare(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
        if not spec.clean:
            return frame, {}
        report = clean_training_rows(frame)
        if report.rows_out < MIN_TRAINING_ROWS:
            raise TrainingDataError(
                f"only {report.rows_out} rows remain after cleaning ({report.dropped}); "
                f"training needs at least {MIN_TRAINING_ROWS}"
            )
        return report.frame, report.dropped

    started = time.perf_counter()
    fitted, dropped = prepare(train_df)
    if test_df is not None:
        estimator = build_pipeline(preset, resolved)
        _fit(estimator, fitted, reporter)
        metrics, calibration, scored = _evaluate(estimator, test_df)
        evaluation: dict[str, Any] = {"on": "test_data", "rows": len(test_df)}
    else:
        held, kept = holdout_split(len(train_df))
        share = 1.0 - HOLDOUT_FRACTION
        first_end = share / (1.0 + share) if refit else 1.0
        estimator = build_pipeline(preset, resolved)
        reporter.phase(0.0, first_end)
        _fit(estimator, prepare(train_df.iloc[kept])[0], reporter)
        metrics, calibration, scored = _evaluate(estimator, train_df.iloc[held])
        if refit:
            estimator = build_pipeline(preset, resolved)
            reporter.phase(first_end, 1.0)
            _fit(estimator, fitted, reporter)
        evaluation = {
            "on": "holdout",
            "fraction": HOLDOUT_FRACTION,
            "seed": HOLDOUT_SEED,
            "rows": len(held),
            "refit_on_all_rows": refit,
        }
    rows = {"input": len(train_df), "used": len(fitted), "dropped": dropped}
    return TrainResult(
        estimator=estimator,
        preset=preset,
        params=resolved,
        metrics=metrics,
        evaluation=evaluation,
        rows=rows,
        fit_seconds=time.perf_counter() - started,
        intervals=None if calibration is None else calibration.to_json(),
        comparables=ComparablesIndex.from_frame(fitted),
        evaluation_rows=scored,
    )


def _evaluate(
    estimator: Any, rows: pd.DataFrame
) -> tuple[dict[str, float | None], IntervalModel | None, pd.DataFrame]:
    """Metrics of ``estimator`` on rows it was not fitted on, and the interval
    calibration those rows give, with its coverage measured on held-out folds of
    them (a model has intervals exactly when its metrics report their coverage)."""
    truth = rows[TARGET].to_numpy(dtype=np.float64)
    predicted = estimator.predict(rows[FEATURES])
    metrics: dict[str, float | None] = {**compute_metrics(truth, predicted)}
    covered = _optional(cross_covered, truth, predicted)
    calibration = None if covered is None else _optional(calibrate, truth, predicted)
    if calibration is None or covered is None:
        return metrics, None, _scored(rows, predicted, {})
    metrics.update(summarise(covered))
    return metrics, calibration, _scored(rows, predicted, covered)


def _optional(step: Callable[..., _T], *args: Any) -> _T | None:
    """``step(*args)``, or None when the rows cannot support it (intervals are
    then left out rather than failing the training)."""
    try:
        return step(*args)
    except (TrainingDataError, IntervalError):
        return None
