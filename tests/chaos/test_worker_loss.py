"""A worker SIGKILLed in the middle of a job: the job still ends once, correctly.

The whole worker (main process and pool child) dies, as when a container or a
machine goes; another worker takes the job over once its heartbeat is stale.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import (
    TERMINAL,
    artifact_problem,
    models_of_job,
    output_problem,
    running_past,
    submit,
    upload_csv,
    wait_job,
)
from tests.chaos.results import Record, Stopwatch
from tests.chaos.settings import PARTITIONED
from tests.perf.stack import Service

pytestmark = pytest.mark.timeout(300)

TRAIN_ROWS = 8000
# Several seconds of fitting per attempt: time enough to be killed in the middle.
SLOW_FIT = {"n_estimators": 800}
BATCH_ROWS = 1_000_000


def _taken_over(job: dict[str, Any]) -> bool:
    return job["status"] in TERMINAL or (job["status"] == "running" and job["attempts"] >= 2)


def _kill_holder(cluster: Cluster, job: dict[str, Any], record: Record) -> Stopwatch:
    assert job["status"] == "running", f"the job ended before it could be killed: {job}"
    holder = cluster.worker_running(job["id"])
    record.figure("killed_at_progress", job["progress"])
    clock = Stopwatch()
    cluster.kill(holder)
    return clock


def test_sigkill_mid_training_ends_with_one_success_and_one_model_version(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    cluster.ensure_workers(2)
    uri, _ = upload_csv(cluster, TRAIN_ROWS, seed=2, with_price=True)
    body = {"train_data": uri, "preset": "notebook", "params": SLOW_FIT, "promote": "never"}
    job = submit(cluster, "training", body)
    running = wait_job(cluster, job["id"], 120, until=running_past(0.3))
    clock = _kill_holder(cluster, running, record)

    resumed = wait_job(cluster, job["id"], 60, until=_taken_over)
    record.figure("takeover_s", clock())
    record.figure("progress_at_takeover", resumed["progress"])
    done = wait_job(cluster, job["id"], 180)
    record.figure("recovery_s", clock())
    record.figure("attempts", done["attempts"])

    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    assert done["attempts"] >= 2, "the killed attempt cannot have finished the job"
    versions = models_of_job(cluster, job["id"])
    assert [v["version"] for v in versions] == [done["result"]["model_version"]], versions
    assert artifact_problem(cluster, done["result"]["artifact_uri"]) is None


def test_sigkill_mid_batch_ends_with_every_input_row_once_in_order(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    cluster.ensure_workers(2)
    uri, path = upload_csv(cluster, BATCH_ROWS, seed=3, with_price=False)
    job = submit(cluster, "batch", {"input_data": uri, "model": production["model_version"]})
    running = wait_job(cluster, job["id"], 120, until=running_past(0.2))
    clock = _kill_holder(cluster, running, record)

    resumed = wait_job(cluster, job["id"], 60, until=_taken_over)
    record.figure("takeover_s", clock())
    record.figure("progress_at_takeover", resumed["progress"])
    done = wait_job(cluster, job["id"], 180)
    record.figure("recovery_s", clock())
    record.figure("attempts", done["attempts"])

    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    assert done["attempts"] >= 2, "the killed attempt cannot have finished the job"
    assert (done["result"]["rows"], done["result"]["failed_rows"]) == (BATCH_ROWS, 0)
    assert output_problem(cluster, done["result"]["output_data"], path) is None


def _partition_holder(cluster: Cluster, job_id: str) -> Service:
    """A live worker whose log says it started a partition of ``job_id``."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for worker in cluster.live_workers():
            for line in worker.log.read_text(errors="replace").splitlines():
                if "partition_started" in line and job_id in line:
                    return worker
        time.sleep(0.1)
    raise AssertionError(f"no worker started a partition of {job_id}")


def _sha256_of(cluster: Cluster, uri: str) -> str:
    bucket, key = uri.removeprefix("s3://").split("/", 1)
    digest = hashlib.sha256()
    for block in cluster.s3().get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(block)
    return digest.hexdigest()


def test_sigkill_of_a_partition_costs_one_partition_and_keeps_the_bytes(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    uri, path = upload_csv(cluster, BATCH_ROWS, seed=3, with_price=False)
    body = {"input_data": uri, "model": production["model_version"]}
    cluster.stop_workers()
    try:
        for _ in range(2):
            cluster.add_worker(PARTITIONED)
        job = submit(cluster, "batch", body)
        wait_job(cluster, job["id"], 120, until=running_past(0.1))
        holder = _partition_holder(cluster, job["id"])
        clock = Stopwatch()
        cluster.kill(holder)
        cluster.add_worker(PARTITIONED)
        done = wait_job(cluster, job["id"], 240)
        record.figure("recovery_s", clock())
    finally:
        cluster.stop_workers()
    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    assert (done["result"]["rows"], done["result"]["failed_rows"]) == (BATCH_ROWS, 0)
    assert done["result"]["input_sha256"] == hashlib.sha256(Path(path).read_bytes()).hexdigest()
    assert output_problem(cluster, done["result"]["output_data"], path) is None

    cluster.ensure_workers(1)  # the default: the job runs whole
    whole = wait_job(cluster, submit(cluster, "batch", body)["id"], 240)
    assert whole["status"] == "succeeded", whole
    split_sha = _sha256_of(cluster, done["result"]["output_data"])
    assert split_sha == _sha256_of(cluster, whole["result"]["output_data"])
