"""Case 3, queue: many small batch jobs, submitted concurrently, each reaching an end.

Small job: batch inference on a 10-row CSV with the notebook model. Two figures
of submit -> running (job created_at -> started_at): with an idle worker (jobs
submitted one at a time, each after the previous one ended), which is the
queue's own latency; and during a burst of concurrent submits, which mostly
measures the backlog the burst builds up.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from tests.perf.fixtures import upload
from tests.perf.jobs import TERMINAL, wait_for
from tests.perf.load import measure
from tests.perf.report import Results, Row, percentile, summary
from tests.perf.stack import WORK, Stack

CLIENTS = 16
IDLE_P50_TARGET_MS = 50.0
SUBMITS_PER_SECOND_TARGET = 300.0


def _submit_all(stack: Stack, body: dict[str, Any], count: int) -> tuple[list[str], float]:
    run = {"name": "submit", "method": "POST", "path": "/v1/jobs/batch-inference",
           "body": body, "count": count, "warmup": 0, "collect": "id"}  # fmt: skip
    [result] = measure(stack, CLIENTS, [run])
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} of {count} submits were refused")
    return result["collected"], result["seconds"]


def _small_csv() -> Path:
    from api.ml.synth import generate

    path = WORK / "queue-10-rows.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(10, seed=5).drop(columns=["price"]).to_csv(path, index=False)
    return path


def _idle_latencies(stack: Stack, body: dict[str, Any], count: int) -> list[float]:
    engine = stack.engine()
    waits: list[float] = []
    with stack.client() as client:
        for _ in range(count):
            answer = client.post("/v1/jobs/batch-inference", json=body)
            answer.raise_for_status()
            job_id = uuid.UUID(answer.json()["id"])
            job = wait_for(engine, [job_id], 60)[job_id]
            if job.status != "succeeded" or job.wait_seconds is None:
                raise RuntimeError(f"small job {job_id} ended {job.status}: {job.error}")
            waits.append(job.wait_seconds * 1000)
            time.sleep(0.05)
    return waits


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    # One burst: a small job costs ~0.4 s of worker time, so 1,000 take minutes to drain.
    jobs, idle_jobs, bursts = (200, 10, 1) if quick else (1_000, 30, 1)
    body = {"input_data": upload(_small_csv(), "inputs/queue-10-rows.csv"), "model": "notebook"}
    worker = stack.start_worker("queue", concurrency=2, queues="inference")
    engine = stack.engine()
    details: dict[str, Any] = {"bursts": []}
    try:
        _idle_latencies(stack, body, 3)  # warm up the pool processes
        idle = _idle_latencies(stack, body, idle_jobs)
        rates, p50s, p99s, drains, unfinished = [], [], [], [], 0
        for _ in range(bursts):
            ids, seconds = _submit_all(stack, body, jobs)
            rows = wait_for(engine, [uuid.UUID(i) for i in ids], timeout=600)
            ended = [r for r in rows.values() if r.status in TERMINAL]
            unfinished += jobs - len(ended)
            waits = [r.wait_seconds * 1000 for r in ended if r.wait_seconds is not None]
            first = min(r.created_at for r in rows.values())
            last = max((r.finished_at for r in ended if r.finished_at), default=first)
            drain = (last - first).total_seconds()
            rates.append(jobs / seconds)
            p50s.append(percentile(waits, 0.5))
            p99s.append(percentile(waits, 0.99))
            drains.append(jobs / drain if drain else 0.0)
            statuses: dict[str, int] = {}
            for r in rows.values():
                statuses[r.status] = statuses.get(r.status, 0) + 1
            details["bursts"].append(
                {"jobs": jobs, "submit_seconds": seconds, "statuses": statuses,
                 "drain_seconds": drain}
            )  # fmt: skip
    finally:
        stack.stop(worker)
    idle_summary = summary([percentile(idle, 0.5)])
    rate = summary(rates)
    results.add(
        Row("queue", f"submit -> running p50, idle worker ({idle_jobs} jobs one at a time)",
            percentile(idle, 0.5), "ms", f"<= {IDLE_P50_TARGET_MS:.0f}",
            percentile(idle, 0.5) <= IDLE_P50_TARGET_MS),
        Row("queue", "submit -> running p99, idle worker", percentile(idle, 0.99), "ms"),
        Row("queue", f"submits/s, {CLIENTS} clients, {jobs} jobs", rate, "req/s",
            f">= {SUBMITS_PER_SECOND_TARGET:.0f}", rate["median"] >= SUBMITS_PER_SECOND_TARGET),
        Row("queue", "submit -> running p50 during the burst", summary(p50s), "ms",
            note="backlog of the burst"),
        Row("queue", "submit -> running p99 during the burst", summary(p99s), "ms"),
        Row("queue", "jobs finished per second (2 pool processes)", summary(drains), "jobs/s"),
        Row("queue", "jobs that reached a terminal state", f"{bursts * jobs - unfinished} of "
            f"{bursts * jobs}", "", "all", unfinished == 0),
    )  # fmt: skip
    details["idle_waits_ms"] = idle
    details["idle_p50"] = idle_summary
    results.details["queue"] = details
