"""The reaper and split jobs: a lost worker or message costs one partition, never the job.

No worker listens: what the reaper sends stays in the broker's ``inference``
queue, where the test counts it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import update

from api import queue
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.job_partition import JobPartition, PartitionStatus
from api.jobs import repository
from api.jobs.execution import partitioning
from api.jobs.execution.reaper import recover_jobs
from api.jobs.execution.runner import claim
from tests.jobs.fencing_helpers import claimed, committed_user, job_row, silence, submit

pytestmark = pytest.mark.usefixtures("committed_db", "flushed_broker")

PARTS = 3


def split_job() -> uuid.UUID:
    """A running batch job handed off to three queued partitions, their messages lost."""
    job_id = submit(committed_user(), JobKind.BATCH_INFERENCE, {"input_data": "s3://tasador/x"})
    ctx = claimed(job_id)
    with session_scope() as session:
        for number in range(PARTS):
            session.add(
                JobPartition(
                    job_id=job_id, number=number, job_attempt=ctx.attempt, header_end=4,
                    start_byte=4 + number * 10, end_byte=14 + number * 10,
                    first_row=1 + number * 2, status=PartitionStatus.QUEUED, attempt=0,
                    rows=0, invalid_rows=0, enqueued_at=utcnow(),
                )
            )  # fmt: skip
    redis.Redis.from_url(get_settings().broker_url).flushdb()
    return job_id


def run_partition_then_lose_its_worker(job_id: uuid.UUID, number: int) -> None:
    now = utcnow()
    with session_scope() as session:
        assert partitioning.claim(session, job_id, number, now=now, stale_before=now)
        session.execute(
            update(JobPartition)
            .where(JobPartition.job_id == job_id, JobPartition.number == number)
            .values(heartbeat_at=now - timedelta(hours=1))
        )


def statuses(job_id: uuid.UUID) -> list[PartitionStatus]:
    with session_scope() as session:
        return [p.status for p in partitioning.partitions(session, job_id)]


def inference_messages() -> int:
    depth = queue.depth(queue.QUEUE_INFERENCE)
    assert depth is not None
    return depth


def test_a_partition_whose_worker_was_lost_is_sent_again_alone() -> None:
    job_id = split_job()
    run_partition_then_lose_its_worker(job_id, 1)
    silence(job_id)  # the job's own heartbeat is stale too: its partitions speak for it
    report = recover_jobs()
    assert report.resent_partitions == 1 and report.resent_stale == 0
    assert statuses(job_id) == [PartitionStatus.QUEUED] * PARTS
    assert inference_messages() == 1
    assert job_row(job_id).attempts == 1  # the job was not run again


def test_a_partition_lost_too_often_fails_the_job_and_ends_every_partition() -> None:
    job_id = split_job()
    for _ in range(get_settings().job_max_attempts):
        run_partition_then_lose_its_worker(job_id, 0)
        recover_jobs()
    job = job_row(job_id)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert job.error["code"] == "worker_lost" and job.error["details"]["partition"] == 0
    assert statuses(job_id) == [PartitionStatus.CANCELLED] * PARTS


def test_queued_partitions_whose_messages_were_lost_are_sent_again_once() -> None:
    job_id = split_job()
    with session_scope() as session:
        session.execute(
            update(JobPartition)
            .where(JobPartition.job_id == job_id)
            .values(enqueued_at=utcnow() - timedelta(hours=1))
        )
    assert recover_jobs().resent_partitions == PARTS
    assert inference_messages() == PARTS
    with session_scope() as session:  # waiting their turn, messages held: not sent again
        session.execute(
            update(JobPartition)
            .where(JobPartition.job_id == job_id)
            .values(enqueued_at=utcnow() - timedelta(hours=1))
        )
    assert recover_jobs().resent_partitions == 0
    assert inference_messages() == PARTS


def test_a_second_delivery_of_a_split_jobs_task_leaves_the_job_to_its_partitions() -> None:
    job_id = split_job()
    silence(job_id)  # partitions waiting in the queue: nothing beats for the job itself
    assert claim(job_id) is None
    assert job_row(job_id).attempts == 1


def test_the_sweeper_keeps_the_parts_of_a_running_split_job() -> None:
    job_id = split_job()
    with session_scope() as session:
        assert repository.running_attempts(session, {job_id}) == {(job_id, 1)}
    claim_again = update(Job).where(Job.id == job_id).values(attempts=2)
    with session_scope() as session:  # even if the job's attempt moved on since the split
        session.execute(claim_again)
        assert repository.running_attempts(session, {job_id}) == {(job_id, 1), (job_id, 2)}
