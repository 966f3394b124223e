from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import TransformedTargetRegressor

from api.ml.schema import FEATURES
from api.ml.training import (
    PROGRESS_STEPS,
    TrainingCancelled,
    TrainingDataError,
    build_pipeline,
    train,
)
from tests.ml.conftest import FAST_PARAMS


def test_progress_is_monotone_and_reaches_one(synthetic_train: pd.DataFrame) -> None:
    seen: list[float] = []
    train(synthetic_train, params=FAST_PARAMS, progress=seen.append)
    assert seen[-1] == 1.0
    assert all(b > a for a, b in pairwise(seen))
    assert 0 < seen[0] < 0.5
    # Hold-out fit plus refit: at most PROGRESS_STEPS calls each.
    assert len(seen) <= 2 * PROGRESS_STEPS


def test_progress_is_throttled_for_long_fits(synthetic_train: pd.DataFrame) -> None:
    seen: list[float] = []
    small = synthetic_train.iloc[:200]
    params = {"n_estimators": 1000, "max_depth": 1}
    train(small, params=params, test_df=small, progress=seen.append)
    # One fit, scored (and its intervals calibrated) on the test rows.
    assert len(seen) == PROGRESS_STEPS
    assert seen[-1] == 1.0


def test_should_stop_cancels_training_at_a_stage_boundary(synthetic_train: pd.DataFrame) -> None:
    seen: list[float] = []
    checks = iter([False] * 5 + [True])
    with pytest.raises(TrainingCancelled):
        train(synthetic_train, params=FAST_PARAMS, progress=seen.append,
              should_stop=lambda: next(checks))  # fmt: skip
    assert 0 < len(seen) < 10 and seen[-1] < 1.0


def test_without_test_data_a_seeded_holdout_is_evaluated_and_reported(
    synthetic_train: pd.DataFrame,
) -> None:
    first = train(synthetic_train, params=FAST_PARAMS)
    second = train(synthetic_train, params=FAST_PARAMS)
    assert first.evaluation["on"] == "holdout"
    assert first.evaluation["fraction"] == 0.2
    assert first.evaluation["rows"] == 400
    assert first.evaluation["refit_on_all_rows"] is True
    assert first.metrics == second.metrics
    assert set(first.metrics) == {
        "rmse", "mae", "mape", "median_ape", "within_10pct",
        "interval_80_coverage", "interval_80_width", "interval_90_coverage", "interval_90_width",
    }  # fmt: skip


def test_with_test_data_metrics_describe_the_test_rows(
    synthetic_train: pd.DataFrame, synthetic_test: pd.DataFrame
) -> None:
    result = train(synthetic_train, params=FAST_PARAMS, test_df=synthetic_test)
    assert result.evaluation == {"on": "test_data", "rows": len(synthetic_test)}
    predictions = result.estimator.predict(synthetic_test[FEATURES])
    errors = predictions - synthetic_test["price"].to_numpy()
    assert result.metrics["mae"] == pytest.approx(np.mean(np.abs(errors)))


def test_default_preset_learns_from_numeric_features(
    synthetic_train: pd.DataFrame, synthetic_test: pd.DataFrame
) -> None:
    params = {"n_estimators": 200}
    improved = train(synthetic_train, params=params, test_df=synthetic_test)
    notebook = train(synthetic_train, preset="notebook", params=params, test_df=synthetic_test)
    assert improved.metrics["mae"] < 0.6 * notebook.metrics["mae"]  # type: ignore[operator]


def test_default_preset_drops_implausible_training_rows_and_counts_them(
    synthetic_train: pd.DataFrame,
) -> None:
    dirty = synthetic_train.copy()
    dirty.loc[dirty.index[0], "price"] = 0.0
    dirty.loc[dirty.index[1], "net_area"] = 0.0
    dirty.loc[dirty.index[2], "n_rooms"] = 55.0
    dirty = pd.concat([dirty, dirty.iloc[[10, 11]]])
    result = train(dirty, params=FAST_PARAMS, test_df=synthetic_train.iloc[:50])
    assert result.rows == {
        "input": 2002,
        "used": 1997,
        "dropped": {"price_below_floor": 1, "zero_area": 1, "implausible_rooms": 1,
                    "duplicate": 2},
    }  # fmt: skip


def test_notebook_preset_trains_on_rows_as_given(synthetic_train: pd.DataFrame) -> None:
    dirty = synthetic_train.copy()
    dirty.loc[dirty.index[0], "price"] = 0.0
    result = train(dirty, preset="notebook", params=FAST_PARAMS, test_df=dirty.iloc[:20])
    assert result.rows == {"input": 2000, "used": 2000, "dropped": {}}


def test_log_target_with_a_zero_price_is_refused_clearly(synthetic_train: pd.DataFrame) -> None:
    dirty = synthetic_train.copy()
    dirty.loc[dirty.index[0], "price"] = 0.0
    with pytest.raises(TrainingDataError, match="log_target needs every training price"):
        train(dirty, preset="notebook", params={**FAST_PARAMS, "log_target": True},
              test_df=dirty.iloc[:20])  # fmt: skip


def test_too_few_rows_are_refused(synthetic_train: pd.DataFrame) -> None:
    with pytest.raises(TrainingDataError, match="at least 10 valid rows, got 3"):
        train(synthetic_train.iloc[:3], params=FAST_PARAMS)


def test_notebook_pipeline_drops_numeric_columns_and_default_keeps_them() -> None:
    from api.ml.presets import resolve_params

    notebook = build_pipeline("notebook", resolve_params("notebook", {}))
    default = build_pipeline("default", resolve_params("default", {"log_target": False}))
    assert notebook.named_steps["encode"].remainder == "drop"
    assert default.named_steps["encode"].remainder == "passthrough"


def test_log_target_wraps_the_pipeline_in_a_log_transform() -> None:
    from api.ml.presets import resolve_params

    wrapped = build_pipeline("default", resolve_params("default", {"log_target": True}))
    assert isinstance(wrapped, TransformedTargetRegressor)
    assert wrapped.func is np.log and wrapped.inverse_func is np.exp
