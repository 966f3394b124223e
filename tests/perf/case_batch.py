"""Case 2, batch: end-to-end batch-inference jobs on synthetic CSVs in S3 (moto).

Each job gets a fresh worker shaped like compose's ``worker-default`` (two pool
processes), started before the job is submitted and stopped after it, so the
job's peak resident memory (the largest VmHWM of the pool processes, sampled
from /proc) is its own and not the largest of all earlier jobs. A job larger
than ``TASADOR_BATCH_PARTITION_ROWS`` runs as partitions on both processes.
Throughput is rows over the job's created_at -> finished_at (queueing, model
load, reading, predicting and both uploads included); the run time alone
(started_at -> finished_at) is in the JSON details. The notebook model runs
on 100k, 1M and 5M rows; the default model (1,000 trees of depth 8) on 100k and,
in full mode, 1M rows, where its target is set.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.perf.fixtures import synthetic_csv, upload
from tests.perf.jobs import MemoryProbe, wait_for
from tests.perf.report import Results, Row, summary
from tests.perf.stack import Stack

ROWS_PER_SECOND_TARGET = 300_000
DEFAULT_ROWS_PER_SECOND_TARGET = 100_000  # the default model, 1M rows end to end
TARGET_ROWS = 1_000_000
RSS_GROWTH_LIMIT = 0.20


def _one_job(stack: Stack, worker_pid: int, uri: str, model: str, timeout: float) -> Any:
    from api.storage import get_store

    probe = MemoryProbe(worker_pid)
    probe.sample()
    with stack.client() as client:
        answer = client.post("/v1/jobs/batch-inference", json={"input_data": uri, "model": model})
        answer.raise_for_status()
    job_id = uuid.UUID(answer.json()["id"])
    job = wait_for(stack.engine(), [job_id], timeout, probe)[job_id]
    if job.status != "succeeded":
        raise RuntimeError(f"batch job {job_id} ended {job.status}: {job.error}")
    assert job.result is not None
    get_store().delete(job.result["output_data"])  # keep moto's memory flat
    return job, probe.peak_mib()


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    sizes = [100_000] if quick else [100_000, 1_000_000, 5_000_000]
    # Two 5M-row runs: a third would cost over a minute of the 15-minute budget.
    repeats = {100_000: 3, 1_000_000: 3, 5_000_000: 2}
    plans: list[tuple[str, int]] = [("notebook", n) for n in sizes]
    # The default model (1,000 trees of depth 8): 100k rows, and in full mode the
    # 1M-row job its target is set on.
    plans += [("default", n) for n in sizes if n <= TARGET_ROWS]
    uris = {n: upload(synthetic_csv(n, seed=1), f"inputs/synth-{n}.csv") for n in sizes}
    details: dict[str, Any] = {"jobs": []}
    measured: dict[tuple[str, int], dict[str, list[float]]] = {}
    for model, rows in plans:
        figures = measured.setdefault((model, rows), {"rps": [], "run_rps": [], "peak": []})
        count = repeats[rows] if model == "notebook" else (1 if quick else 2)
        for _ in range(count):
            worker = stack.start_worker("batch", concurrency=2, queues="inference")
            try:
                details.setdefault(
                    "idle_child_rss_mib", MemoryProbe(worker.proc.pid).current_rss_mib()
                )
                job, peak = _one_job(stack, worker.proc.pid, uris[rows], model, timeout=600)
            finally:
                stack.stop(worker)
            assert job.result is not None and job.total_seconds and job.run_seconds
            if job.result["rows"] != rows:
                raise RuntimeError(f"batch job predicted {job.result['rows']} of {rows} rows")
            figures["rps"].append(rows / job.total_seconds)
            figures["run_rps"].append(rows / job.run_seconds)
            figures["peak"].append(peak)
            details["jobs"].append(
                {"model": model, "rows": rows, "total_seconds": job.total_seconds,
                 "run_seconds": job.run_seconds, "wait_seconds": job.wait_seconds,
                 "peak_rss_mib": peak}
            )  # fmt: skip
    for (model, rows), figures in measured.items():
        rps = summary(figures["rps"])
        goal = {"notebook": ROWS_PER_SECOND_TARGET, "default": DEFAULT_ROWS_PER_SECOND_TARGET}
        is_target = rows == TARGET_ROWS
        results.add(
            Row("batch", f"{rows:,} rows, {model} model", rps, "rows/s",
                f">= {goal[model]:,}" if is_target else "",
                rps["median"] >= goal[model] if is_target else None,
                note="submit to finished"),
            Row("batch", f"{rows:,} rows, {model} model, worker peak RSS",
                summary(figures["peak"]), "MiB"),
        )  # fmt: skip
    big, base = measured.get(("notebook", 5_000_000)), measured.get(("notebook", TARGET_ROWS))
    if big and base:
        growth = summary([b / a - 1 for a, b in zip(base["peak"], big["peak"], strict=False)])
        results.add(
            Row("batch", "peak RSS growth, 1M -> 5M rows", growth, "ratio",
                f"< {RSS_GROWTH_LIMIT:.2f}", growth["median"] < RSS_GROWTH_LIMIT),
        )  # fmt: skip
    results.details["batch"] = details
