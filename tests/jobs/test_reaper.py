"""The reaper's job recovery and its own process, against real Postgres and Redis.

No worker listens in these tests: what the reaper sends stays in the broker's
queue, where the test counts it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from api import queue
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobKind, JobStatus
from api.jobs.execution.outputs import staging_uri
from api.jobs.execution.reaper import recover_jobs
from api.storage import get_store
from tests.jobs.fencing_helpers import claimed, committed_user, job_row, silence, submit

pytestmark = pytest.mark.usefixtures("committed_db", "flushed_broker")

TASADOR = Path(sys.executable).parent / "tasador"


def queued_job(owner: int) -> uuid.UUID:
    return submit(owner, JobKind.TRAINING, {"train_data": "s3://tasador/x.csv"})


def sent_ago(job_id: uuid.UUID, seconds: float) -> None:
    with session_scope() as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(enqueued_at=utcnow() - timedelta(seconds=seconds))
        )


def waiting_messages() -> int:
    depth = queue.depth(queue.QUEUE_TRAINING)
    assert depth is not None
    return depth


def lose_every_message() -> None:
    import redis

    redis.Redis.from_url(get_settings().broker_url).flushdb()


@pytest.fixture
def owner() -> int:
    return committed_user()


@pytest.fixture
def resend_after_one_second(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TASADOR_QUEUED_RESEND_SECONDS", "1")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("resend_after_one_second")
def test_a_lost_queued_message_is_sent_again_within_the_configured_delay(owner: int) -> None:
    job_id = queued_job(owner)
    lose_every_message()
    assert recover_jobs().resent_lost == 0  # sent a moment ago: not due yet
    time.sleep(1.2)
    assert recover_jobs().resent_lost == 1
    assert waiting_messages() == 1
    assert recover_jobs().resent_lost == 0  # at most once per delay
    assert job_row(job_id).status == JobStatus.QUEUED


def test_a_job_waiting_its_turn_in_the_queue_is_not_sent_again(owner: int) -> None:
    jobs = [queued_job(owner) for _ in range(3)]
    for job_id in jobs:
        sent_ago(job_id, 3600)  # a long queue: an hour and still waiting
    assert recover_jobs().resent_lost == 0
    assert waiting_messages() == 3


def test_only_as_many_jobs_as_the_broker_lost_are_sent_again_oldest_first(owner: int) -> None:
    lost = [queued_job(owner) for _ in range(2)]
    lose_every_message()
    later = queued_job(owner)  # sent after the loss: its message is in the broker
    for seconds, job_id in zip((600, 300, 60), [*lost, later], strict=True):
        sent_ago(job_id, seconds)  # all three waited past the delay
    before = utcnow()
    assert recover_jobs().resent_lost == 2  # 3 queued, 1 message held
    assert waiting_messages() == 3
    # First in, first out: the messages lost are those of the jobs sent first.
    assert all(job_row(job_id).enqueued_at >= before for job_id in lost)
    assert job_row(later).enqueued_at < before


def test_a_stale_running_job_is_sent_again_then_failed_once_its_attempts_run_out(
    owner: int,
) -> None:
    job_id = queued_job(owner)
    lose_every_message()
    claimed(job_id)
    silence(job_id)
    sent_ago(job_id, 3600)
    assert recover_jobs().resent_stale == 1
    assert waiting_messages() == 1
    for _ in range(get_settings().job_max_attempts - 1):
        silence(job_id)
        claimed(job_id)
    silence(job_id)
    report = recover_jobs()
    assert report.failed == 1
    job = job_row(job_id)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert job.error["code"] == "worker_lost"


@pytest.mark.usefixtures("s3_settings")
def test_tasador_reaper_once_recovers_sweeps_and_exits(owner: int) -> None:
    job_id = queued_job(owner)
    lose_every_message()
    sent_ago(job_id, 3600)
    dead = uuid.uuid4()  # an attempt of a job long gone left its staging output
    leftover = staging_uri(dead, 1, "predictions.csv")
    get_store().put_bytes(leftover, b"price_pred\n1\n")
    env = {**os.environ, "TASADOR_SWEEP_AGE_SECONDS": "0"}

    done = subprocess.run(
        [str(TASADOR), "reaper", "--once"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["jobs"]["resent_lost"] == 1
    assert report["swept"]["staging"] == 1
    assert report["failed_duties"] == []
    assert waiting_messages() == 1
    assert not get_store().exists(leftover)
