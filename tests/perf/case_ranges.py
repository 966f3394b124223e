"""Case ranges: one record's latency plain, with an 80 % interval, with 5 comparables.

In process, on the registered default model's bundle (predictor, interval
calibration, comparables index), doing what the predictions service does for
one instance: predict, then the range, then the comparables. Runnable alone,
without services, on a model trained here::

    python -m tests.perf.case_ranges [--train-data PATH] [--rows 16000]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tests.perf.predictor_bench import _median_us, example_record
from tests.perf.report import Results, Row
from tests.perf.stack import BUCKET, Stack

SINGLE_US_TARGET = 25.0
LEVEL, COMPARABLES = 0.8, 5


def measure(bundle: Any, repeats: int = 2_000) -> dict[str, float]:
    """Median microseconds per call for one record (``bundle``: api.ml.bundle.ModelBundle)."""
    predictor, intervals = bundle.predictor, bundle.require_intervals()
    comparables = bundle.require_comparables()
    record = example_record(predictor)
    records = [record]

    def plain() -> object:
        return predictor.predict_records(records).tolist()

    def ranged() -> object:
        return intervals.bounds_of(predictor.predict_records(records).tolist(), LEVEL)

    def neighbours() -> object:
        predictor.predict_records(records).tolist()
        return comparables.nearest(record, COMPARABLES)

    def both() -> object:
        ranged()
        return comparables.nearest(record, COMPARABLES)

    figures = {name: _median_us(call, repeats) for name, call in
               (("plain_us", plain), ("interval_us", ranged),
                ("comparables_us", neighbours), ("both_us", both))}  # fmt: skip
    figures["index_rows"] = float(comparables.rows)
    return figures


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    from api.registry import artifacts as registry_artifacts

    del stack  # the registered default model is read straight from the store
    bundle = registry_artifacts.load_bundle(f"s3://{BUCKET}/models/bench-default/model.tsm")
    figures = measure(bundle, repeats=300 if quick else 3_000)
    plain = figures["plain_us"]
    results.add(
        Row("ranges", "one record, default model, plain", plain, "us",
            f"<= {SINGLE_US_TARGET:.0f}", plain <= SINGLE_US_TARGET),
        Row("ranges", f"one record with an {LEVEL * 100:.0f} % interval", figures["interval_us"],
            "us", note=f"+{figures['interval_us'] - plain:.1f} us"),
        Row("ranges", f"one record with {COMPARABLES} comparables", figures["comparables_us"],
            "us", note=f"+{figures['comparables_us'] - plain:.1f} us; index of "
            f"{figures['index_rows']:,.0f} listings"),
        Row("ranges", "one record with both", figures["both_us"], "us"),
    )  # fmt: skip
    results.details["ranges"] = figures


def main(argv: list[str] | None = None) -> None:
    import pandas as pd

    from api.ml.artifact import ModelArtifact, to_bytes
    from api.ml.bundle import compile_bundle
    from api.ml.synth import generate
    from api.ml.training import train
    from api.ml.validation import validate_frame

    parser = argparse.ArgumentParser(prog="python -m tests.perf.case_ranges")
    parser.add_argument("--train-data", help="a CSV to train on (default: synthetic rows)")
    parser.add_argument("--rows", type=int, default=16_000, help="synthetic rows to train on")
    args = parser.parse_args(argv)
    raw = pd.read_csv(args.train_data) if args.train_data else generate(args.rows, seed=42)
    result = train(validate_frame(raw, require_target=True).frame, refit=False)
    artifact = ModelArtifact.from_training(result, {"sha256": "", "rows": len(raw)})
    figures = measure(compile_bundle(artifact))
    figures["artifact_mb"] = len(to_bytes(artifact, None)) / 1e6
    figures["comparables_mb"] = len(artifact.comparables or b"") / 1e6
    print(json.dumps({**figures, "metrics": result.metrics}, indent=2))


if __name__ == "__main__":
    main()
