"""Case 1, predict: the API's authenticated calls against a bare FastAPI app.

One uvicorn process serves the API, another the reference app of
``reference_app.py`` (a sync route parsing the same prediction body, nothing
else). A separate load process keeps 32 clients busy for a fixed time per run,
interleaving reference, ``GET /v1/ping`` and ``POST /v1/predictions`` with a
bearer token and with an API key, so that noise from other tenants of the
machine hits every kind alike; each ratio divides a run by the reference run
of the same round. Then, in this process, the compiled predictor next to
scikit-learn's ``predict``: one record's latency and batch throughput, for the
notebook and default models.
"""

from __future__ import annotations

from typing import Any

from tests.perf.fixtures import Model
from tests.perf.load import measure
from tests.perf.report import Results, Row, summary
from tests.perf.stack import Stack

CONCURRENCY = 32
PREDICT_TARGET = 0.60  # of the reference app's req/s
PING_TARGET = 0.75
SPEEDUP_TARGET = 50.0
# Issue 14: the default model's compiled predictor.
DEFAULT_SINGLE_US_TARGET = 25.0
DEFAULT_BATCH_TARGET = 150_000
NOTEBOOK_BATCH_TARGET = 300_000

# name -> (server, method, path, credential, send the prediction body)
_RUNS: dict[str, tuple[str, str, str, str, bool]] = {
    "reference": ("reference", "POST", "/v1/predictions", "none", True),
    "ping": ("api", "GET", "/v1/ping", "bearer", False),
    "predict-bearer": ("api", "POST", "/v1/predictions", "bearer", True),
    "predict-key": ("api", "POST", "/v1/predictions", "api_key", True),
}


def _instance() -> dict[str, Any]:
    from api.ml.schema import FEATURES
    from api.ml.synth import generate

    row = generate(1, seed=3).iloc[0]
    return {
        name: (row[name].item() if hasattr(row[name], "item") else row[name]) for name in FEATURES
    }


def _by_kind(measured: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _RUNS}
    for run in measured:
        kinds[run["name"].rsplit("-", 1)[0]].append(run)
    return kinds


def run(stack: Stack, results: Results, models: dict[str, Model], *, quick: bool) -> None:
    duration, repeats = (4.0, 3) if quick else (8.0, 3)
    body = {"instances": [_instance()]}
    with stack.client() as client:  # the answer must be right before it is timed
        answer = client.post("/v1/predictions", json=body)
        answer.raise_for_status()
        by_key = client.post("/v1/predictions", json=body, headers={"X-API-Key": stack.api_key})
        by_key.raise_for_status()
    reference = stack.start_reference()
    urls = {"api": stack.api_url, "reference": stack.reference_url}
    runs = []
    for i in range(repeats):  # interleaved, so noise from other tenants hits every kind alike
        for kind, (server, method, path, auth, with_body) in _RUNS.items():
            runs.append(
                {"name": f"{kind}-{i}", "url": urls[server], "method": method, "path": path,
                 "auth": auth, "body": body if with_body else None, "duration": duration}
            )  # fmt: skip
    try:
        measured = measure(stack, CONCURRENCY, runs)
    finally:
        stack.stop(reference)
    kinds = _by_kind(measured)
    rps = {kind: [r["rps"] for r in kinds[kind]] for kind in _RUNS}

    def ratio(kind: str) -> dict[str, Any]:
        return summary([x / ref for x, ref in zip(rps[kind], rps["reference"], strict=True)])

    errors = sum(r["errors"] for r in measured)
    version = answer.json()["model_version"]
    client_cpu = max(r["client_cpu_share"] for r in measured)
    note = f"{CONCURRENCY} clients, {duration:.0f} s x {repeats}"
    ping, bearer, key = ratio("ping"), ratio("predict-bearer"), ratio("predict-key")
    results.add(
        Row("predict", "reference: bare FastAPI, sync route parsing the prediction body",
            summary(rps["reference"]), "req/s", note=f"{note}, no auth, no database"),
        Row("predict", "GET /v1/ping throughput (bearer)", summary(rps["ping"]), "req/s"),
        Row("predict", "POST /v1/predictions throughput (bearer)",
            summary(rps["predict-bearer"]), "req/s",
            note=f"1 instance, default model, version {version}"),
        Row("predict", "POST /v1/predictions throughput (API key)",
            summary(rps["predict-key"]), "req/s"),
        Row("predict", "ping / reference", ping, "ratio", f">= {PING_TARGET:.2f}",
            ping["median"] >= PING_TARGET),
        Row("predict", "predictions (bearer) / reference", bearer, "ratio",
            f">= {PREDICT_TARGET:.2f}", bearer["median"] >= PREDICT_TARGET),
        Row("predict", "predictions (API key) / reference", key, "ratio",
            f">= {PREDICT_TARGET:.2f}", key["median"] >= PREDICT_TARGET),
        Row("predict", "ping latency p50 / p99",
            f"{_ms(kinds['ping'], 'p50_ms')} / {_ms(kinds['ping'], 'p99_ms')}", "ms"),
        Row("predict", "predictions (bearer) latency p50 / p99",
            f"{_ms(kinds['predict-bearer'], 'p50_ms')} / "
            f"{_ms(kinds['predict-bearer'], 'p99_ms')}", "ms"),
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
