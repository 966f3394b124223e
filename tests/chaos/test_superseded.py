"""A worker paused (SIGSTOP) after writing its output, superseded, then resumed (SIGCONT).

Worker A reaches S3 through a proxy that freezes A's process group the moment
its first object write is stored (see ``pause_proxy``). The reaper hands the job
to worker B, which finishes it. Then A wakes up, believing its write just
succeeded. Whatever A does next must leave B's published results alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import (
    artifact_problem,
    models_of_job,
    object_exists,
    output_problem,
    predict,
    submit,
    upload_csv,
    wait_job,
)
from tests.chaos.pause_proxy import PausingProxy
from tests.chaos.results import Record, Stopwatch
from tests.perf.stack import Service

pytestmark = pytest.mark.timeout(300)


class Superseded:
    """Worker A (paused at its first write) and the timings of the takeover."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.worker: Service | None = None
        s3 = urlsplit(cluster.s3_url)
        self.proxy = PausingProxy((s3.hostname or "127.0.0.1", s3.port or 80), self._pause)

    def _pause(self) -> None:
        assert self.worker is not None
        self.cluster.pause(self.worker.proc.pid)

    def run(self, kind: str, body: dict[str, Any], record: Record) -> dict[str, Any]:
        cluster = self.cluster
        cluster.stop_workers()  # the job must go to A
        self.worker = cluster.add_worker({"TASADOR_S3_ENDPOINT_URL": self.proxy.url})
        job = submit(cluster, kind, body)
        assert self.proxy.fired.wait(120), f"worker A never wrote an output: {job['id']}"
        paused = Stopwatch()
        cluster.add_worker()  # B, whose reaper notices A's silence
        record.figure("worker_b_ready_s", paused())
        done = wait_job(cluster, job["id"], 120)
        record.figure("takeover_to_success_s", paused())
        mark = self.worker.log.stat().st_size
        resumed = Stopwatch()
        cluster.resume(self.worker.proc.pid)
        record.figure("stale_attempt_ended_s", self._stale_attempt_ended(job["id"], mark))
        record.figure("paused_worker_alive_after_resume", self.worker.proc.poll() is None)
        record.figure("resume_to_checks_s", resumed())
        return done

    def _stale_attempt_ended(self, job_id: str, mark: int, timeout: float = 30) -> float | str:
        """Seconds until A logs the end of its attempt after SIGCONT (it may say so variously)."""
        assert self.worker is not None
        clock = Stopwatch()
        while clock() < timeout:
            with self.worker.log.open("rb") as log:
                log.seek(mark)
                for line in log.read().decode(errors="replace").splitlines():
                    if job_id in line and ("job_ended" in line or "supersed" in line):
                        time.sleep(0.5)  # what it does right after its last line
                        return clock()
            time.sleep(0.1)
        return f"no end line in {timeout:.0f} s"

    def close(self) -> None:
        self.proxy.close()
        if self.worker is not None:
            self.cluster.resume(self.worker.proc.pid)
            self.cluster.stop(self.worker)


@pytest.fixture
def superseded(cluster: Cluster) -> Iterator[Superseded]:
    scenario = Superseded(cluster)
    yield scenario
    scenario.close()


@pytest.fixture
def restore_production(cluster: Cluster, production: dict[str, Any]) -> Iterator[None]:
    """Point ``production`` back at the first model, whatever the test did to it."""
    yield
    with cluster.client() as client:
        client.put("/v1/models/aliases/production", json={"version": production["model_version"]})


def test_superseded_training_attempt_leaves_the_winners_model_serving(
    cluster: Cluster,
    production: dict[str, Any],
    superseded: Superseded,
    restore_production: None,
    record: Record,
) -> None:
    uri, _ = upload_csv(cluster, 6000, seed=4, with_price=True)
    body = {"train_data": uri, "preset": "notebook", "promote": "always"}
    done = superseded.run("training", body, record)

    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    job = wait_job(cluster, done["id"], 10)  # as it stands after A woke up
    assert job["status"] == "succeeded" and job["result"] == done["result"], job
    version = done["result"]["model_version"]
    assert [v["version"] for v in models_of_job(cluster, done["id"])] == [version]
    assert artifact_problem(cluster, done["result"]["artifact_uri"]) is None
    answer = predict(cluster, "production")
    assert answer.status_code == 200, f"production answered {answer.status_code}: {answer.text}"
    assert answer.json()["model_version"] == version


def test_superseded_batch_attempt_leaves_the_winners_output_intact(
    cluster: Cluster, production: dict[str, Any], superseded: Superseded, record: Record
) -> None:
    uri, path = upload_csv(cluster, 50_000, seed=5, with_price=False)
    body = {"input_data": uri, "model": production["model_version"]}
    done = superseded.run("batch", body, record)

    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    job = wait_job(cluster, done["id"], 10)
    assert job["status"] == "succeeded" and job["result"] == done["result"], job
    assert (done["result"]["rows"], done["result"]["failed_rows"]) == (50_000, 0)
    assert output_problem(cluster, done["result"]["output_data"], path) is None
    errors = done["result"]["output_data"].removesuffix(".csv") + ".errors.csv"
    assert not object_exists(cluster, errors), "a job without failed rows left an errors file"
