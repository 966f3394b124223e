"""The broker loses its messages, or goes away and comes back."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import poll_until, status_of, submit, upload_csv, wait_job
from tests.chaos.results import Record, Stopwatch

pytestmark = pytest.mark.timeout(240)


def test_flushed_broker_still_finishes_every_queued_job(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    assert cluster.redis is not None
    cluster.stop_workers()  # nothing consumes: the jobs' messages wait in the broker
    uri, _ = upload_csv(cluster, 5000, seed=6, with_price=False)
    body = {"input_data": uri, "model": production["model_version"]}
    jobs = [submit(cluster, "batch", body) for _ in range(3)]
    broker = cluster.redis.client(0)
    waiting = broker.llen("inference")
    broker.flushdb()
    clock = Stopwatch()
    cluster.ensure_workers(1)
    record.figure("messages_flushed", waiting)
    record.figure("worker_ready_s", clock())
    ended = [wait_job(cluster, job["id"], 120) for job in jobs]
    record.figure("recovery_s", clock())

    assert waiting >= len(jobs), "the jobs' messages were not in the broker to be flushed"
    assert [job["status"] for job in ended] == ["succeeded"] * 3, ended
    assert all(job["result"]["rows"] == 5000 for job in ended)


def test_redis_restart_turns_readyz_503_then_200_without_restarting_any_process(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    assert cluster.redis is not None
    cluster.ensure_workers(1)
    assert status_of(cluster, "GET", "/readyz") == 200
    before = {k: v for k, v in cluster.pids().items() if k != "redis"}

    clock = Stopwatch()
    cluster.redis.stop()
    seen_down = poll_until(lambda: status_of(cluster, "GET", "/readyz") == 503, 20)
    record.figure("readyz_503_after_s", seen_down if seen_down is not None else "never")
    time.sleep(max(0.0, 3 - clock()))  # a few seconds of outage
    cluster.redis.start()
    back = Stopwatch()
    ready = poll_until(lambda: status_of(cluster, "GET", "/readyz") == 200, 60)
    record.figure("readyz_200_after_restart_s", ready if ready is not None else "never")
    after = {k: v for k, v in cluster.pids().items() if k != "redis"}
    uri, _ = upload_csv(cluster, 5000, seed=6, with_price=False)
    job = submit(cluster, "batch", {"input_data": uri, "model": production["model_version"]})
    done = wait_job(cluster, job["id"], 120)
    record.figure("job_after_restart_done_s", back())

    assert seen_down is not None, "/readyz never answered 503 while Redis was down"
    assert ready is not None, "/readyz did not come back to 200 after Redis restarted"
    assert after == before, f"processes restarted or died: before {before}, after {after}"
    assert done["status"] == "succeeded", f"a job after the restart ended {done}"
