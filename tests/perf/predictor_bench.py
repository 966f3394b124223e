"""In-process timings of the compiled predictor next to scikit-learn's ``predict``.

Used by the predict case of ``make bench`` and runnable alone (no services)::

    python -m tests.perf.predictor_bench [--rows 200000] [--train-data PATH]

They measure; they assert nothing, since figures depend on the machine. The
machine may be shared, so each figure is the median of several runs, and the
batch figures also give rows per CPU-second (process time, all threads), which
other tenants disturb less than the wall clock.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from api.ml.predictor import FastPredictor, compile_predictor
from api.ml.schema import FEATURES, NUMERIC

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


def batch_frame(predictor: FastPredictor, rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` synthetic rows of the categories the model knows."""
    rng = np.random.default_rng(seed)
    types = np.array(list(predictor.columns["type"].codes), dtype=object)
    sectors = np.array(list(predictor.columns["sector"].codes), dtype=object)
    base = np.array([_NUMERIC_EXAMPLE[name] for name in NUMERIC])
    frame = pd.DataFrame(base * rng.uniform(0.8, 1.2, size=(rows, len(NUMERIC))), columns=NUMERIC)
    frame.insert(0, "sector", sectors[rng.integers(0, sectors.size, rows)])
    frame.insert(0, "type", types[rng.integers(0, types.size, rows)])
    return frame[FEATURES]


def _rates(call: Callable[[], object], rows: int, repeats: int) -> dict[str, float]:
    call()
    wall, cpu = [], []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        call()
        cpu.append(time.process_time() - cpu_started)
        wall.append(time.perf_counter() - started)
    return {
        "rows_per_second": rows / statistics.median(wall),
        "rows_per_cpu_second": rows / statistics.median(cpu),
    }


def time_batch(
    predictor: FastPredictor,
    rows: int = 1_000_000,
    seed: int = 0,
    repeats: int = 3,
    estimator: Any | None = None,
) -> dict[str, float]:
    """Throughput of ``predict_columns`` on ``rows`` synthetic rows (and of the estimator's).

    With ``estimator``, also its ``predict`` on the same rows as a DataFrame.
    """
    frame = batch_frame(predictor, rows, seed)
    types, sectors = frame["type"].to_numpy(), frame["sector"].to_numpy()
    numeric = frame[NUMERIC].to_numpy(dtype=np.float64)
    figures = _rates(lambda: predictor.predict_columns(types, sectors, numeric), rows, repeats)
    result = {"rows": float(rows), "threads": float(predictor.threads), **figures}
    if estimator is not None:
        sklearn = _rates(lambda: estimator.predict(frame), rows, max(1, repeats // 2))
        result.update({f"sklearn_{key}": value for key, value in sklearn.items()})
    return result


def measure(estimator: Any, rows: int = 200_000, repeats: int = 300) -> dict[str, Any]:
    """Single-record latency and batch throughput of one model, predictor and scikit-learn."""
    started = time.perf_counter()
    predictor = compile_predictor(estimator)
    compile_seconds = time.perf_counter() - started
    single = time_single_row(estimator, predictor, repeats=repeats)
    batch = time_batch(predictor, rows=rows, estimator=estimator)
    one_thread = predictor.threads
    predictor.threads = 1
    batch["one_thread_rows_per_second"] = time_batch(predictor, rows=rows)["rows_per_second"]
    predictor.threads = one_thread
    return {"compile_seconds": compile_seconds, "single": single, "batch": batch}


def _train(preset: str, train_data: Path | None) -> Any:
    from api.ml.synth import generate
    from api.ml.training import train
    from api.ml.validation import validate_frame

    raw = pd.read_csv(train_data) if train_data else generate(16_000, seed=42)
    frame = validate_frame(raw, require_target=True).frame
    return train(frame, preset=preset, refit=False).estimator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.perf.predictor_bench")
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--train-data", type=Path, help="CSV to train on (default: synthetic)")
    args = parser.parse_args(argv)
    for preset in ("notebook", "default"):
        figures = measure(_train(preset, args.train_data), rows=args.rows)
        single, batch = figures["single"], figures["batch"]
        print(
            f"{preset:8s} one record {single['predictor_us']:6.1f} us "
            f"(scikit-learn {single['pipeline_us']:,.0f} us); "
            f"batch {batch['rows_per_second']:>11,.0f} rows/s with {batch['threads']:.0f} "
            f"thread(s), {batch['one_thread_rows_per_second']:>11,.0f} with 1 "
            f"(scikit-learn {batch['sklearn_rows_per_second']:,.0f}); "
            f"compiled in {figures['compile_seconds']:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
