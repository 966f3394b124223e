"""Prediction intervals: coverage near nominal on data with known noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from api.ml.artifact import ModelArtifact, from_bytes, to_bytes
from api.ml.bundle import IntervalUnavailable, compile_bundle
from api.ml.intervals import (
    IntervalError,
    IntervalModel,
    calibrate,
    coverage,
    cross_evaluate,
    level_index,
)
from api.ml.training import train
from tests.ml.conftest import FAST_PARAMS


def _noisy(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Predictions and prices whose log error is normal, twice as wide for dear homes."""
    rng = np.random.default_rng(seed)
    pred = np.exp(rng.uniform(np.log(1_000), np.log(40_000), n))
    sigma = np.where(pred > 10_000, 0.3, 0.15)
    return pred * np.exp(rng.normal(0.0, sigma)), pred


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95])
def test_fresh_rows_are_covered_at_the_nominal_rate(level: float) -> None:
    model = calibrate(*_noisy(5_000, seed=1))
    covered, _ = coverage(model, *_noisy(20_000, seed=2), level)
    assert covered == pytest.approx(level, abs=0.02)


def test_dear_homes_get_wider_relative_ranges() -> None:
    model = calibrate(*_noisy(5_000, seed=3))
    lower, upper = model.bounds(np.array([3_000.0, 30_000.0]), 0.8)
    relative = (upper - lower) / np.array([3_000.0, 30_000.0])
    assert relative[1] > 1.5 * relative[0]
    assert (lower < [3_000.0, 30_000.0]).all() and (upper > [3_000.0, 30_000.0]).all()


def test_cross_evaluation_reports_coverage_and_width_per_level() -> None:
    metrics = cross_evaluate(*_noisy(3_000, seed=4))
    assert metrics["interval_80_coverage"] == pytest.approx(0.8, abs=0.03)
    assert metrics["interval_90_coverage"] == pytest.approx(0.9, abs=0.03)
    assert 0 < metrics["interval_80_width"] < metrics["interval_90_width"]


def test_calibration_survives_a_json_round_trip() -> None:
    model = calibrate(*_noisy(1_000, seed=5))
    again = IntervalModel.from_json(model.to_json())
    assert again is not None
    pred = np.array([1_500.0, 8_000.0, 35_000.0])
    np.testing.assert_array_equal(again.bounds(pred, 0.9)[1], model.bounds(pred, 0.9)[1])
    assert IntervalModel.from_json(None) is None


def test_a_level_between_grid_points_is_rounded_up() -> None:
    assert level_index(0.5) == 0
    assert level_index(0.8) == 30
    assert level_index(0.801) == 31
    assert level_index(0.99) == 49
    for bad in (0.49, 0.995, 1.0):
        with pytest.raises(IntervalError):
            level_index(bad)


def test_too_few_rows_cannot_be_calibrated() -> None:
    with pytest.raises(IntervalError):
        calibrate([100.0] * 5, [110.0] * 5)


def test_training_calibrates_intervals_that_cover_test_rows(
    synthetic_train: pd.DataFrame, synthetic_test: pd.DataFrame
) -> None:
    result = train(synthetic_train, params=FAST_PARAMS, test_df=synthetic_test)
    assert result.intervals is not None
    assert 0.7 <= result.metrics["interval_80_coverage"] <= 0.9  # type: ignore[operator]
    assert 0.8 <= result.metrics["interval_90_coverage"] <= 0.97  # type: ignore[operator]
    assert 0 < result.metrics["interval_80_width"] < result.metrics["interval_90_width"]  # type: ignore[operator]


def test_the_artifact_carries_the_calibration_to_the_served_bundle(
    synthetic_train: pd.DataFrame,
) -> None:
    result = train(synthetic_train, params=FAST_PARAMS)
    artifact = ModelArtifact.from_training(result, {"sha256": "0" * 64, "rows": 2000})
    bundle = compile_bundle(from_bytes(to_bytes(artifact, b"k" * 32), b"k" * 32))
    calibration = bundle.require_intervals()
    prices = bundle.predictor.predict_frame(synthetic_train.iloc[:5])
    lower, upper = calibration.bounds(prices, 0.8)
    assert (lower < prices).all() and (prices < upper).all()


def test_a_model_trained_without_calibration_has_no_intervals(
    synthetic_train: pd.DataFrame,
) -> None:
    result = train(synthetic_train, params=FAST_PARAMS)
    artifact = ModelArtifact.from_training(result, {"sha256": "0" * 64, "rows": 2000})
    artifact.extra = {"rows": result.rows}  # as written before intervals existed
    bundle = compile_bundle(from_bytes(to_bytes(artifact, None), None))
    assert bundle.intervals is None
    with pytest.raises(IntervalUnavailable):
        bundle.require_intervals()


def test_a_few_prices_get_the_same_bounds_as_an_array() -> None:
    model = calibrate(*_noisy(3_000, seed=6))
    prices = [1_200.0, 5_000.0, 9_999.0, 25_000.0, -40.0]
    lower, upper = model.bounds(np.array(prices), 0.85)
    few = model.bounds_of(prices, 0.85)
    np.testing.assert_allclose(few[0], lower, rtol=1e-12)
    np.testing.assert_allclose(few[1], upper, rtol=1e-12)
    many = model.bounds_of(prices * 4, 0.85)
    np.testing.assert_allclose(many[0], np.tile(lower, 4), rtol=1e-12)


def test_few_distinct_predictions_still_calibrate_every_band() -> None:
    # The notebook preset gives one price per (type, sector): most rows tie.
    truth, _ = _noisy(4_000, seed=7)
    pred = np.where(np.arange(4_000) < 3_900, 5_000.0, 20_000.0)
    model = calibrate(truth, pred)
    assert np.isfinite(model.radii).all()
    assert model.edges.size + 1 == model.radii.shape[0] <= 2
    lower, upper = model.bounds(np.array([5_000.0, 20_000.0]), 0.9)
    assert (lower < [5_000.0, 20_000.0]).all() and (upper > [5_000.0, 20_000.0]).all()
