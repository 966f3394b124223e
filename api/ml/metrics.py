"""Regression metrics, always computed as (truth, prediction).

The client's notebook passed arguments to ``mean_absolute_percentage_error`` in
swapped order, which divides by the prediction instead of the price; every metric
here takes ``y_true`` first and the percentage metrics divide by ``|y_true|``.

Rows whose true price is 0 have no defined percentage error. They still count in
RMSE and MAE but are excluded from ``mape``, ``median_ape`` and ``within_10pct``
(instead of producing an infinite MAPE); if no row is left, those three are None.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METRIC_NAMES = ("rmse", "mae", "mape", "median_ape", "within_10pct")


def compute_metrics(y_true: Any, y_pred: Any) -> dict[str, float | None]:
    """RMSE, MAE, MAPE, median APE and the share of predictions within ±10 % of the truth.

    ``mape`` and ``median_ape`` are fractions (0.12 means 12 %), like scikit-learn's.
    """
    truth = np.asarray(y_true, dtype=np.float64).ravel()
    pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if truth.shape != pred.shape:
        raise ValueError(f"y_true has {truth.size} values but y_pred has {pred.size}")
    if truth.size == 0:
        raise ValueError("cannot compute metrics on zero rows")
    error = pred - truth
    metrics: dict[str, float | None] = {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
    }
    nonzero = truth != 0
    if nonzero.any():
        ape = np.abs(error[nonzero]) / np.abs(truth[nonzero])
        metrics["mape"] = float(np.mean(ape))
        metrics["median_ape"] = float(np.median(ape))
        metrics["within_10pct"] = float(np.mean(ape <= 0.10))
    else:
        metrics.update(mape=None, median_ape=None, within_10pct=None)
    return metrics
