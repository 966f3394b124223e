"""Splitting a large batch-inference job into partitions any inference worker takes.

A batch job whose input holds more than ``batch_partition_rows`` data rows is
not run by the worker that received it: that worker cuts the input into byte
ranges of whole records (``splitting``), inserts one ``job_partitions`` row per
range and defers one ``run_batch_partition`` task per row, all in the
transaction that checks it still owns the job. The job stays ``running``; its
partitions carry their own attempts and heartbeats (``partition_job``), the
last one to finish assembles the outputs (``partition_finish``), and the reaper
re-sends a partition whose worker was lost (``partition_recovery``).

All SQL on ``job_partitions`` is here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from api import queue
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import JobStatus
from api.db.tables.job_partition import JobPartition, PartitionStatus
from api.jobs import repository
from api.jobs.execution.context import JobCancelled, JobContext, JobHandedOff
from api.jobs.execution.splitting import Split, split_csv
from api.storage import get_store

# The smallest a data record of the feature schema can be ("casa,a,1,1,1,1,1,1\n"):
# an input smaller than this many bytes per row cannot exceed the partition size.
MIN_RECORD_BYTES = 19


def hand_off_if_large(ctx: JobContext, source: str) -> None:
    """Raise :class:`JobHandedOff` once the job runs as partitions; return to run it whole."""
    rows = get_settings().batch_partition_rows
    with session_scope() as session:
        if partitions(session, ctx.job_id):
            raise JobHandedOff  # an earlier attempt split it already
    size = int(ctx.inputs.get("input_data", {}).get("size") or 0)
    if size and size < rows * MIN_RECORD_BYTES:
        return
    with get_store().open_read(source) as stream:
        split = split_csv(stream, rows)
    if len(split.starts) < 2:
        return
    ctx.check_cancelled()
    with session_scope() as session:
        job = repository.get(session, ctx.job_id, for_update=True)
        if job is None or job.status != JobStatus.RUNNING or job.attempts != ctx.attempt:
            raise JobCancelled(str(ctx.job_id))
        if not partitions(session, ctx.job_id):
            job.inputs = {**job.inputs, "split": {"sha256": split.sha256, "rows": split.rows}}
            _insert(session, ctx, split, rows)
    raise JobHandedOff


def _insert(session: Session, ctx: JobContext, split: Split, rows: int) -> None:
    now = utcnow()
    for number, (start, end) in enumerate(split.ranges()):
        session.add(
            JobPartition(
                job_id=ctx.job_id,
                number=number,
                job_attempt=ctx.attempt,
                header_end=split.header_end,
                start_byte=start,
                end_byte=end,
                first_row=number * rows + 1,
                status=PartitionStatus.QUEUED,
                attempt=0,
                rows=0,
                invalid_rows=0,
                enqueued_at=now,
            )
        )
        send_partition(session, ctx.job_id, number)
    session.flush()


def send_partition(session: Session, job_id: uuid.UUID, number: int) -> None:
    """Send the partition's task once ``session`` has committed."""
    queue.defer_send(
        session,
        queue.TASK_RUN_BATCH_PARTITION,
        [str(job_id), number],
        queue.QUEUE_INFERENCE,
        task_id=f"{job_id}-part-{number}",  # Flower shows whose partition it is
    )


def partitions(session: Session, job_id: uuid.UUID) -> Sequence[JobPartition]:
    stmt = (
        select(JobPartition)
        .where(JobPartition.job_id == job_id)
        .order_by(JobPartition.number)
        .execution_options(populate_existing=True)  # rows updated in this transaction
    )
    return session.scalars(stmt).all()


def get(session: Session, job_id: uuid.UUID, number: int) -> JobPartition | None:
    return session.get(JobPartition, (job_id, number))


def claim(
    session: Session, job_id: uuid.UUID, number: int, *, now: datetime, stale_before: datetime
) -> bool:
    """Start the partition's next attempt: one conditional UPDATE, as for a job."""
    stmt = (
        update(JobPartition)
        .where(
            JobPartition.job_id == job_id,
            JobPartition.number == number,
            or_(
                JobPartition.status == PartitionStatus.QUEUED,
                (JobPartition.status == PartitionStatus.RUNNING)
                & (JobPartition.heartbeat_at < stale_before),
            ),
        )
        .values(status=PartitionStatus.RUNNING, attempt=JobPartition.attempt + 1, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined,no-any-return]


def touch(session: Session, job_id: uuid.UUID, number: int, attempt: int) -> bool:
    """Heartbeat of a partition and of its job; False once the partition is not this attempt's."""
    now = utcnow()
    stmt = (
        update(JobPartition)
        .where(
            JobPartition.job_id == job_id,
            JobPartition.number == number,
            JobPartition.attempt == attempt,
            JobPartition.status == PartitionStatus.RUNNING,
        )
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        return False
    return repository.touch_running(session, job_id, heartbeat_at=now)


def finished_count(session: Session, job_id: uuid.UUID) -> tuple[int, int]:
    """(succeeded, total) partitions of the job."""
    succeeded = func.count().filter(JobPartition.status == PartitionStatus.SUCCEEDED)
    stmt = select(succeeded, func.count()).where(JobPartition.job_id == job_id)
    row = session.execute(stmt).one()
    return int(row[0] or 0), int(row[1])


def stale_running(session: Session, stale_before: datetime) -> Sequence[JobPartition]:
    """Running partitions whose heartbeat stopped; rows another reaper holds are skipped."""
    stmt = (
        select(JobPartition)
        .where(
            JobPartition.status == PartitionStatus.RUNNING,
            JobPartition.heartbeat_at < stale_before,
        )
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).all()


def count_queued(session: Session) -> int:
    stmt = select(func.count()).where(JobPartition.status == PartitionStatus.QUEUED)
    return int(session.scalar(stmt) or 0)


def waiting_since(session: Session, sent_before: datetime) -> Sequence[JobPartition]:
    """Queued partitions last sent before ``sent_before``, oldest first."""
    stmt = (
        select(JobPartition)
        .where(
            JobPartition.status == PartitionStatus.QUEUED,
            JobPartition.enqueued_at < sent_before,
        )
        .order_by(JobPartition.enqueued_at, JobPartition.job_id, JobPartition.number)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).all()
