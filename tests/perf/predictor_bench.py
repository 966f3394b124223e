"""Timing helpers for the fast predictor, called by the benchmark harness.

They measure; they assert nothing, since figures depend on the machine.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from api.ml.fast import FEATURES, FastPredictor
from api.ml.fast_structure import NUMERIC

# A plausible flat in Santiago, used when the caller gives no record.
_NUMERIC_EXAMPLE = {
    "net_usable_area": 85.0,
    "net_area": 95.0,
    "n_rooms": 3.0,
    "n_bathroom": 2.0,
    "latitude": -33.41,
    "longitude": -70.57,
}


def example_record(predictor: FastPredictor) -> dict[str, object]:
    """One record whose categories the model knows."""
    record: dict[str, object] = {name: next(iter(c.codes)) for name, c in predictor.columns.items()}
    record.update(_NUMERIC_EXAMPLE)
    return record


def _median_us(call: Callable[[], object], repeats: int) -> float:
    call()  # warm caches and lazy imports outside the measurement
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def time_single_row(
    estimator: Any,
    predictor: FastPredictor,
    repeats: int = 200,
    record: Mapping[str, object] | None = None,
) -> dict[str, float]:
    """Median latency of one prediction: the scikit-learn estimator vs the predictor.

    The estimator gets a one-row DataFrame (as a naive endpoint would build), the
    predictor the record itself through ``predict_records``.
    """
    row = dict(record) if record is not None else example_record(predictor)
    frame = pd.DataFrame([row], columns=list(FEATURES))
    records = [row]
    pipeline_us = _median_us(lambda: estimator.predict(frame), max(1, repeats // 10))
    predictor_us = _median_us(lambda: predictor.predict_records(records), repeats)
    return {
        "pipeline_us": pipeline_us,
        "predictor_us": predictor_us,
        "speedup": pipeline_us / predictor_us,
        "repeats": float(repeats),
    }


def time_batch(predictor: FastPredictor, rows: int = 1_000_000, seed: int = 0) -> dict[str, float]:
    """Throughput of ``predict_columns`` on ``rows`` synthetic rows of known categories."""
    rng = np.random.default_rng(seed)
    types = np.array(list(predictor.columns["type"].codes), dtype=object)
    sectors = np.array(list(predictor.columns["sector"].codes), dtype=object)
    base = np.array([_NUMERIC_EXAMPLE[name] for name in NUMERIC])
    numeric = base * rng.uniform(0.8, 1.2, size=(rows, len(NUMERIC)))
    type_column = types[rng.integers(0, types.size, rows)]
    sector_column = sectors[rng.integers(0, sectors.size, rows)]
    start = time.perf_counter()
    predictor.predict_columns(type_column, sector_column, numeric)
    seconds = time.perf_counter() - start
    return {"rows": float(rows), "seconds": seconds, "rows_per_second": rows / seconds}
