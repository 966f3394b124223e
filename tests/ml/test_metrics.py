from __future__ import annotations

import math

import numpy as np
import pytest

from api.ml.metrics import compute_metrics


def test_metrics_match_hand_computed_values_and_skip_zero_prices_in_percentages() -> None:
    y_true = [100.0, 200.0, 0.0, 400.0]
    y_pred = [110.0, 150.0, 10.0, 400.0]
    # Errors 10, -50, 10, 0; percentage errors (zero price excluded) 0.10, 0.25, 0.0.
    metrics = compute_metrics(y_true, y_pred)
    assert metrics["rmse"] == pytest.approx(math.sqrt((10**2 + 50**2 + 10**2 + 0) / 4))
    assert metrics["mae"] == pytest.approx((10 + 50 + 10 + 0) / 4)
    assert metrics["mape"] == pytest.approx((0.10 + 0.25 + 0.0) / 3)
    assert metrics["median_ape"] == pytest.approx(0.10)
    assert metrics["within_10pct"] == pytest.approx(2 / 3)


def test_metrics_agree_with_an_independent_loop_on_random_data() -> None:
    rng = np.random.default_rng(3)
    truth = rng.uniform(1000, 20000, 50)
    pred = truth * rng.uniform(0.7, 1.3, 50)
    squared = absolute = 0.0
    ratios = []
    for t, p in zip(truth, pred, strict=True):
        squared += (p - t) ** 2
        absolute += abs(p - t)
        ratios.append(abs(p - t) / t)
    metrics = compute_metrics(truth, pred)
    assert metrics["rmse"] == pytest.approx(math.sqrt(squared / 50))
    assert metrics["mae"] == pytest.approx(absolute / 50)
    assert metrics["mape"] == pytest.approx(sum(ratios) / 50)
    assert metrics["median_ape"] == pytest.approx(sorted(ratios)[24] / 2 + sorted(ratios)[25] / 2)
    assert metrics["within_10pct"] == pytest.approx(sum(r <= 0.1 for r in ratios) / 50)


def test_mape_divides_by_the_true_price_not_the_prediction() -> None:
    # Truth 100, prediction 200: 100 % off. The swapped (notebook) order would say 50 %.
    assert compute_metrics([100.0], [200.0])["mape"] == pytest.approx(1.0)
    assert compute_metrics([200.0], [100.0])["mape"] == pytest.approx(0.5)


def test_percentage_metrics_are_none_when_every_true_price_is_zero() -> None:
    metrics = compute_metrics([0.0, 0.0], [5.0, 5.0])
    assert metrics["mae"] == pytest.approx(5.0)
    assert metrics["mape"] is None
    assert metrics["within_10pct"] is None


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 values but y_pred has 2"):
        compute_metrics([1.0, 2.0, 3.0], [1.0, 2.0])
