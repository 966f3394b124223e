"""Case 1, predict: POST /v1/predictions against GET /v1/ping on the same server.

One uvicorn process serves both; a separate load process keeps 32 clients busy
for a fixed time per endpoint, alternating ping and predict runs so that noise
from other tenants of the machine hits both alike. Then, in this process, the
fast predictor's single-record latency against the scikit-learn pipeline.
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


def _instance() -> dict[str, Any]:
    from api.ml.schema import FEATURES
    from api.ml.synth import generate

    row = generate(1, seed=3).iloc[0]
    return {
        name: (row[name].item() if hasattr(row[name], "item") else row[name]) for name in FEATURES
    }


def run(stack: Stack, results: Results, models: dict[str, Model], *, quick: bool) -> None:
    from api.ml.fast import compile_predictor
    from api.ml.fast_bench import time_single_row

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
        if model is None:
            continue
        timing = time_single_row(model.estimator, compile_predictor(model.estimator), repeats=300)
        details[f"single_row_{preset}"] = timing
        target = f">= {SPEEDUP_TARGET:.0f}" if preset == "notebook" else ""
        met = timing["speedup"] >= SPEEDUP_TARGET if preset == "notebook" else None
        results.add(
            Row("predict", f"fast predictor vs scikit-learn, one record, {preset} model",
                timing["speedup"], "x", target, met,
                note=f"{timing['predictor_us']:.1f} us vs {timing['pipeline_us']:.0f} us"),
        )  # fmt: skip
    results.details["predict"] = details


def _ms(runs: list[dict[str, Any]], key: str) -> str:
    value = summary([r[key] for r in runs])
    return f"{value['median']:.1f}"
