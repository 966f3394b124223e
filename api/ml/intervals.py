"""Prediction intervals: split-conformal ranges on the relative error, per price band.

Calibration takes out-of-sample predictions on training rows (the model fitted
without them) and their true prices, and keeps, for each band of predicted
price and each level 0.50, 0.51, ..., 0.99, the conformal quantile of
``|log(price / prediction)|``. A prediction ``p`` in a band whose quantile at the
asked level is ``q`` gets the range ``[p * exp(-q), p * exp(q)]``: relative, so a
30,000 UF house gets a wider range than a 3,000 UF flat, and per band, because
expensive homes are also harder to price. A level between two grid points
uses the next one up, so a range is never narrower than asked.

Everything here is plain numpy on small arrays: the calibration is stored as
JSON in the artifact's metadata, and applying it costs a search and a multiply.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_LEVEL: Final[float] = 0.5
MAX_LEVEL: Final[float] = 0.99
LEVELS: Final[FloatArray] = np.round(np.arange(50, 100) / 100.0, 2)
MAX_BANDS: Final[int] = 5
MIN_ROWS_PER_BAND: Final[int] = 200
REPORTED_LEVELS: Final[tuple[float, ...]] = (0.8, 0.9)
EVALUATION_FOLDS: Final[int] = 5
EVALUATION_SEED: Final[int] = 16
_SCALAR_MAX: Final[int] = 8


class IntervalError(ValueError):
    """Too few usable rows to calibrate, or a level outside 0.5..0.99."""


@dataclass(frozen=True, slots=True)
class IntervalModel:
    """Band edges (in predicted price) and the radius of each band at each level."""

    edges: FloatArray  # (bands - 1,) ascending
    radii: FloatArray  # (bands, len(LEVELS)): quantiles of |log(price / prediction)|
    rows: int

    def radius(self, predictions: FloatArray, level: float) -> FloatArray:
        column = level_index(level)
        bands = np.searchsorted(self.edges, predictions, side="right")
        radii: FloatArray = self.radii[bands, column]
        return radii

    def bounds(self, predictions: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
        """(lower, upper) for each prediction; a non-positive one gets the same
        relative spread around it."""
        pred = np.asarray(predictions, dtype=np.float64)
        q = self.radius(pred, level)
        size = np.abs(pred)
        return pred - size * -np.expm1(-q), pred + size * np.expm1(q)

    def bounds_of(self, prices: list[float], level: float) -> tuple[list[float], list[float]]:
        """``bounds`` for a few prices as plain floats: for one record numpy's
        per-call overhead would cost more than the arithmetic."""
        if len(prices) > _SCALAR_MAX:
            lower, upper = self.bounds(np.asarray(prices), level)
            return lower.tolist(), upper.tolist()
        column = level_index(level)
        edges = self.edges.tolist()
        lows, highs = [], []
        for price in prices:
            q = float(self.radii[bisect.bisect_right(edges, price), column])
            size = abs(price)
            lows.append(price - size * -math.expm1(-q))
            highs.append(price + size * math.expm1(q))
        return lows, highs

    def to_json(self) -> dict[str, Any]:
        return {
            "method": "split conformal on |log(price / prediction)|, per predicted-price band",
            "levels": LEVELS.tolist(),
            "edges": self.edges.tolist(),
            "radii": self.radii.tolist(),
            "rows": self.rows,
        }

    @classmethod
    def from_json(cls, data: Any) -> IntervalModel | None:
        """The stored calibration, or None for an artifact trained without one."""
        if not isinstance(data, dict) or "radii" not in data:
            return None
        radii = np.asarray(data["radii"], dtype=np.float64)
        edges = np.asarray(data["edges"], dtype=np.float64)
        if radii.ndim != 2 or radii.shape != (edges.size + 1, LEVELS.size):
            return None
        return cls(edges=edges, radii=radii, rows=int(data.get("rows", 0)))


def has_intervals(metrics: Any) -> bool:
    """Whether a model with these training metrics was calibrated (they report coverage)."""
    return isinstance(metrics, dict) and "interval_80_coverage" in metrics


def level_index(level: float) -> int:
    """The grid column for ``level``: the smallest grid level at or above it."""
    if not (isinstance(level, int | float) and MIN_LEVEL <= level <= MAX_LEVEL):
        raise IntervalError(f"interval must be between {MIN_LEVEL} and {MAX_LEVEL}, got {level!r}")
    return min(math.ceil(round((level - MIN_LEVEL) * 100, 6)), LEVELS.size - 1)


def _usable(truth: Any, pred: Any) -> tuple[FloatArray, FloatArray]:
    y = np.asarray(truth, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    keep = (y > 0) & (p > 0) & np.isfinite(y) & np.isfinite(p)
    return y[keep], p[keep]


def _conformal_quantiles(scores: FloatArray) -> FloatArray:
    """The finite-sample conformal quantile of ``scores`` at every grid level."""
    ordered = np.sort(scores)
    n = ordered.size
    ranks = np.minimum(np.ceil((n + 1) * LEVELS).astype(np.int64), n)
    quantiles: FloatArray = ordered[ranks - 1]
    return quantiles


def calibrate(truth: Any, pred: Any, *, max_bands: int = MAX_BANDS) -> IntervalModel:
    """Fit the ranges to out-of-sample predictions ``pred`` of prices ``truth``.

    Rows with a price or prediction <= 0 carry no relative error and are skipped.
    """
    y, p = _usable(truth, pred)
    if y.size < 20:
        raise IntervalError(f"calibrating intervals needs at least 20 rows, got {y.size}")
    scores = np.abs(np.log(y / p))
    edges = _band_edges(p, max(1, min(max_bands, y.size // MIN_ROWS_PER_BAND)))
    members = np.searchsorted(edges, p, side="right")
    radii = np.vstack([_conformal_quantiles(scores[members == b]) for b in range(edges.size + 1)])
    return IntervalModel(edges=edges, radii=radii, rows=int(y.size))


def _band_edges(pred: FloatArray, bands: int) -> FloatArray:
    """Edges splitting ``pred`` into ``bands`` equal shares, merging any band left
    with fewer than half its share: a model that gives few distinct prices (the
    notebook preset gives one per type and sector) ties many rows on one value."""
    edges = sorted(set(np.quantile(pred, np.arange(1, bands) / bands).tolist()))
    least = pred.size // (2 * bands)
    while edges:
        counts = np.bincount(np.searchsorted(edges, pred, side="right"), minlength=len(edges) + 1)
        smallest = int(np.argmin(counts))
        if counts[smallest] >= least:
            break
        del edges[min(smallest, len(edges) - 1)]  # merge it with its upper (or lower) neighbour
    return np.asarray(edges, dtype=np.float64)


def coverage(model: IntervalModel, truth: Any, pred: Any, level: float) -> tuple[float, float]:
    """(share of prices inside their range, mean (upper - lower) / prediction)."""
    y, p = _usable(truth, pred)
    lower, upper = model.bounds(p, level)
    inside = (y >= lower) & (y <= upper)
    return float(inside.mean()), float(np.mean((upper - lower) / p))


def _named(level: float, covered: float, width: float) -> dict[str, float]:
    tag = f"interval_{round(level * 100)}"
    return {f"{tag}_coverage": covered, f"{tag}_width": width}


def cross_covered(
    truth: Any, pred: Any, folds: int = EVALUATION_FOLDS
) -> dict[float, tuple[FloatArray, FloatArray]]:
    """Per row and reported level: whether its price is inside a range calibrated
    on the other folds (1.0 or 0.0), and that range's relative width; NaN for rows
    without a relative error (a price or prediction <= 0)."""
    y = np.asarray(truth, dtype=np.float64).ravel()
    p = np.asarray(pred, dtype=np.float64).ravel()
    rows = np.flatnonzero((y > 0) & (p > 0) & np.isfinite(y) & np.isfinite(p))
    fold_of = np.random.default_rng(EVALUATION_SEED).permutation(rows.size) % folds
    found = {level: (np.full(y.size, np.nan), np.full(y.size, np.nan)) for level in REPORTED_LEVELS}
    for fold in range(folds):
        held, rest = rows[fold_of == fold], rows[fold_of != fold]
        model = calibrate(y[rest], p[rest])
        for level, (inside, width) in found.items():
            lower, upper = model.bounds(p[held], level)
            inside[held] = (y[held] >= lower) & (y[held] <= upper)
            width[held] = (upper - lower) / p[held]
    return found


def summarise(covered: dict[float, tuple[FloatArray, FloatArray]]) -> dict[str, float]:
    """The metrics of ``cross_covered``: coverage and mean relative width per level."""
    metrics: dict[str, float] = {}
    for level, (inside, width) in covered.items():
        metrics.update(_named(level, float(np.nanmean(inside)), float(np.nanmean(width))))
    return metrics


def cross_evaluate(truth: Any, pred: Any, folds: int = EVALUATION_FOLDS) -> dict[str, float]:
    """Coverage and width measured on held-out folds of the calibration rows:
    each fold is covered by ranges calibrated on the other folds."""
    return summarise(cross_covered(truth, pred, folds))
