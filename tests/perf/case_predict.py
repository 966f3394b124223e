"""Case 1, predict: POST /v1/predictions against GET /v1/ping on the same server.

One uvicorn process serves both; a separate load process keeps 32 clients busy
for a fixed time per endpoint, alternating ping and predict runs so that noise
from other tenants of the machine hits both alike. Then, in this process, the
compiled predictor in this process, next to scikit-learn's ``predict``: one
record's latency and batch throughput, for the notebook and default models.
"""

from __future__ import annotations

from typing import Any

from tests.perf.fixtures import Model
from tests.perf.load import measure
from tests.perf.report import Results, Row, summary
from tests.perf.stack import Stack

CONCURRENCY = 32
RELATIVE_TARGET = 0.70
SPEEDUP_TARGET = 50.0
# Issue 14: the default model's compiled predictor.
DEFAULT_SINGLE_US_TARGET = 25.0
DEFAULT_BATCH_TARGET = 150_000
NOTEBOOK_BATCH_TARGET = 300_000


def _instance() -> dict[str, Any]:
    from api.ml.schema import FEATURES
    from api.ml.synth import generate

    row = generate(1, seed=3).iloc[0]
    return {
        name: (row[name].item() if hasattr(row[name], "item") else row[name]) for name in FEATURES
    }


def run(stack: Stack, results: Results, models: dict[str, Model], *, quick: bool) -> None:
    duration, repeats = (4.0, 3) if quick else (8.0, 3)
    body = {"instances": [_instance()]}
    with stack.client() as client:  # the answer must be right before it is timed
        answer = client.post("/v1/predictions", json=body)
        answer.raise_for_status()
    runs = []
    for i in range(repeats):
        runs.append(
            {"name": f"ping-{i}", "method": "GET", "path": "/v1/ping", "duration": duration}
        )
        runs.append(
            {"name": f"predict-{i}", "method": "POST", "path": "/v1/predictions",
             "body": body, "duration": duration}
        )  # fmt: skip
    measured = measure(stack, CONCURRENCY, runs)
    ping = [r for r in measured if r["name"].startswith("ping")]
    predict = [r for r in measured if r["name"].startswith("predict")]
    ratios = [p["rps"] / q["rps"] for p, q in zip(predict, ping, strict=True)]
    errors = sum(r["errors"] for r in measured)
    ratio = summary(ratios)
    version = answer.json()["model_version"]
    client_cpu = max(r["client_cpu_share"] for r in measured)
    note = f"{CONCURRENCY} clients, {duration:.0f} s x {repeats}"
    results.add(
        Row("predict", "GET /v1/ping throughput", summary([r["rps"] for r in ping]), "req/s",
            note=note),
        Row("predict", "POST /v1/predictions throughput", summary([r["rps"] for r in predict]),
            "req/s", note=f"1 instance, default model, version {version}"),
        Row("predict", "predictions / ping throughput", ratio, "ratio",
            f">= {RELATIVE_TARGET:.2f}", ratio["median"] >= RELATIVE_TARGET),
        Row("predict", "ping latency p50 / p99",
            f"{_ms(ping, 'p50_ms')} / {_ms(ping, 'p99_ms')}", "ms"),
        Row("predict", "predictions latency p50 / p99",
            f"{_ms(predict, 'p50_ms')} / {_ms(predict, 'p99_ms')}", "ms"),
    )  # fmt: skip
    results.add(
        Row("predict", "load generator CPU, highest run", client_cpu, "cores",
            note="near 1: the client, not the server, may be the limit"),
    )  # fmt: skip
    if errors:
        results.add(Row("predict", "non-2xx answers during load", float(errors), "requests"))
    details: dict[str, Any] = {"runs": measured}
    for preset in ("notebook", "default"):
        model = models.get(preset)
        if model is not None:
            details[f"in_process_{preset}"] = in_process(results, preset, model.estimator, quick)
    results.details["predict"] = details


def in_process(results: Results, preset: str, estimator: Any, quick: bool) -> dict[str, Any]:
    """The compiled predictor in this process: one record, and a batch, vs scikit-learn."""
    from tests.perf.predictor_bench import measure

    figures = measure(estimator, rows=50_000 if quick else 200_000)
    single, batch = figures["single"], figures["batch"]
    default = preset == "default"
    speedup_target = f">= {SPEEDUP_TARGET:.0f}" if not default else ""
    single_target = f"<= {DEFAULT_SINGLE_US_TARGET:.0f}" if default else ""
    batch_goal = DEFAULT_BATCH_TARGET if default else NOTEBOOK_BATCH_TARGET
    results.add(
        Row("predict", f"fast predictor vs scikit-learn, one record, {preset} model",
            single["speedup"], "x", speedup_target,
            single["speedup"] >= SPEEDUP_TARGET if not default else None,
            note=f"{single['predictor_us']:.1f} us vs {single['pipeline_us']:.0f} us"),
        Row("predict", f"fast predictor, one record, {preset} model", single["predictor_us"],
            "us", single_target,
            single["predictor_us"] <= DEFAULT_SINGLE_US_TARGET if default else None),
        Row("predict", f"fast predictor, in-process batch, {preset} model",
            batch["rows_per_second"], "rows/s", f">= {batch_goal:,}",
            batch["rows_per_second"] >= batch_goal,
            note=f"{batch['threads']:.0f} threads; 1 thread "
            f"{batch['one_thread_rows_per_second']:,.0f}; scikit-learn predict "
            f"{batch['sklearn_rows_per_second']:,.0f}"),
    )  # fmt: skip
    return figures


def _ms(runs: list[dict[str, Any]], key: str) -> str:
    value = summary([r[key] for r in runs])
    return f"{value['median']:.1f}"
