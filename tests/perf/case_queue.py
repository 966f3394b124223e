"""Case 3, queue: what a submit costs the API, and how fast the queue drains.

Small job: batch inference on a 10-row CSV with the notebook model. Figures:

- submit -> running with an idle worker (jobs submitted one at a time, each
  after the previous one ended): the queue's own latency;
- submits per second from 16 concurrent clients, batch and training, with no
  worker consuming, so the figure is the API's (every submit-time check kept:
  ownership, the input's HEAD, the output's absence, the model, the insert,
  the commit, the broker send), and the API process's CPU time per submit
  (user + system, from ``/proc/<pid>/stat``);
- then a worker drains the batch jobs: jobs finished per second, and every
  job reaches a terminal state.

The training jobs of the burst are cancelled and their messages dropped; they
exist to time the submit.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import bindparam, text
from sqlalchemy.types import Uuid

from tests.perf.fixtures import synthetic_csv, upload
from tests.perf.jobs import TERMINAL, wait_for
from tests.perf.load import measure
from tests.perf.report import Results, Row, percentile, summary
from tests.perf.stack import WORK, Stack

CLIENTS = 16
IDLE_P50_TARGET_MS = 50.0
SUBMITS_PER_SECOND_TARGET = 300.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _burst(stack: Stack, path: str, body: dict[str, Any], count: int) -> dict[str, Any]:
    """``count`` submits from CLIENTS clients; rate, latency and the API's CPU per submit."""
    run = {"name": "submit", "method": "POST", "path": path, "body": body,
           "count": count, "warmup": 0, "collect": "id"}  # fmt: skip
    pid = stack.service("api").proc.pid
    s3_pid = stack.service("moto").proc.pid
    before, s3_before = cpu_seconds(pid), cpu_seconds(s3_pid)
    [result] = measure(stack, CLIENTS, [run])
    api_cpu = cpu_seconds(pid) - before
    result["s3_cpu_ms_per_submit"] = (cpu_seconds(s3_pid) - s3_before) / count * 1000
    if result["errors"]:
        raise RuntimeError(f"{result['errors']} of {count} submits to {path} were refused")
    result["api_cpu_ms_per_submit"] = api_cpu / count * 1000
    return result


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


def _discard_training(stack: Stack, ids: list[str]) -> None:
    """Cancel the burst's training jobs and drop their messages: no worker runs them."""
    redis.Redis.from_url(stack.env["TASADOR_BROKER_URL"]).delete("training")
    cancel = text(
        "UPDATE jobs SET status = 'cancelled', finished_at = now() WHERE id IN :ids"
    ).bindparams(bindparam("ids", expanding=True, type_=Uuid()))
    with stack.engine().begin() as conn:
        conn.execute(cancel, {"ids": [uuid.UUID(i) for i in ids]})


def run(stack: Stack, results: Results, *, quick: bool) -> None:
    jobs, idle_jobs, bursts = (200, 10, 1) if quick else (1_000, 30, 1)
    body = {"input_data": upload(_small_csv(), "inputs/queue-10-rows.csv"), "model": "notebook"}
    training = {
        "train_data": upload(synthetic_csv(200, seed=6, with_price=True), "inputs/queue-train.csv"),
        "preset": "notebook",
    }
    engine = stack.engine()
    details: dict[str, Any] = {"bursts": []}
    worker = stack.start_worker("queue", concurrency=2, queues="inference")
    try:
        _idle_latencies(stack, body, 3)  # warm up the pool processes
        idle = _idle_latencies(stack, body, idle_jobs)
    finally:
        stack.stop(worker)
    batch = [_burst(stack, "/v1/jobs/batch-inference", body, jobs) for _ in range(bursts)]
    trained = [_burst(stack, "/v1/jobs/training", training, jobs) for _ in range(bursts)]
    for burst in trained:
        _discard_training(stack, burst["collected"])
    ids = [uuid.UUID(i) for burst in batch for i in burst["collected"]]
    worker = stack.start_worker("queue-drain", concurrency=2, queues="inference")
    try:
        rows = wait_for(engine, ids, timeout=900)
    finally:
        stack.stop(worker)
    ended = [r for r in rows.values() if r.status in TERMINAL]
    started = [r.started_at for r in ended if r.started_at]
    finished = [r.finished_at for r in ended if r.finished_at]
    drain = (max(finished) - min(started)).total_seconds() if started and finished else 0.0
    statuses: dict[str, int] = {}
    for r in rows.values():
        statuses[r.status] = statuses.get(r.status, 0) + 1
    for kind, measured in (("batch", batch), ("training", trained)):
        for burst in measured:
            details["bursts"].append(
                {"kind": kind, "jobs": jobs, "submit_seconds": burst["seconds"],
                 "rps": burst["rps"], "p50_ms": burst["p50_ms"], "p99_ms": burst["p99_ms"],
                 "api_cpu_ms_per_submit": burst["api_cpu_ms_per_submit"],
                 "s3_server_cpu_ms_per_submit": burst["s3_cpu_ms_per_submit"],
                 "client_cpu_share": burst["client_cpu_share"]}
            )  # fmt: skip
    details["drain"] = {"jobs": len(ids), "seconds": drain, "statuses": statuses}
    target = f">= {SUBMITS_PER_SECOND_TARGET:.0f}"
    batch_rate, train_rate = (
        summary([b["rps"] for b in batch]),
        summary([b["rps"] for b in trained]),
    )
    results.add(
        Row("queue", f"submit -> running p50, idle worker ({idle_jobs} jobs one at a time)",
            percentile(idle, 0.5), "ms", f"<= {IDLE_P50_TARGET_MS:.0f}",
            percentile(idle, 0.5) <= IDLE_P50_TARGET_MS),
        Row("queue", "submit -> running p99, idle worker", percentile(idle, 0.99), "ms"),
        Row("queue", f"batch submits/s, {CLIENTS} clients, {jobs} jobs, no worker consuming",
            batch_rate, "req/s", target, batch_rate["median"] >= SUBMITS_PER_SECOND_TARGET),
        Row("queue", f"training submits/s, {CLIENTS} clients, {jobs} jobs, no worker consuming",
            train_rate, "req/s", target, train_rate["median"] >= SUBMITS_PER_SECOND_TARGET),
        Row("queue", "batch submit latency p99 in the burst",
            summary([b["p99_ms"] for b in batch]), "ms"),
        Row("queue", "API CPU per batch submit",
            summary([b["api_cpu_ms_per_submit"] for b in batch]), "ms",
            note="user + system of the API process"),
        Row("queue", "API CPU per training submit",
            summary([b["api_cpu_ms_per_submit"] for b in trained]), "ms"),
        Row("queue", "jobs finished per second (2 pool processes, queue full)",
            len(ended) / drain if drain else 0.0, "jobs/s"),
        Row("queue", "jobs that reached a terminal state", f"{len(ended)} of {len(ids)}", "",
            "all", len(ended) == len(ids)),
    )  # fmt: skip
    details["idle_waits_ms"] = idle
    results.details["queue"] = details
