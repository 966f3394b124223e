"""All SQL for jobs."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session

from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.job_partition import JobPartition, PartitionStatus


def add(session: Session, job: Job) -> Job:
    session.add(job)
    session.flush()
    return job


def get(session: Session, job_id: uuid.UUID, *, for_update: bool = False) -> Job | None:
    stmt = select(Job).where(Job.id == job_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def find_by_idempotency_key(session: Session, owner_id: int, key: str) -> Job | None:
    stmt = select(Job).where(Job.owner_id == owner_id, Job.idempotency_key == key)
    return session.scalars(stmt).first()


def page(
    session: Session,
    *,
    owner_id: int | None,
    kind: JobKind | None,
    status: JobStatus | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Job]:
    """Newest first; ``after`` is the (created_at, id) of the last row already seen."""
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if owner_id is not None:
        stmt = stmt.where(Job.owner_id == owner_id)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if after is not None:
        created, last_id = after
        stmt = stmt.where(
            or_(Job.created_at < created, (Job.created_at == created) & (Job.id < last_id))
        )
    return session.scalars(stmt).all()


def claim(session: Session, job_id: uuid.UUID, *, now: datetime, stale_before: datetime) -> bool:
    """Atomically mark a job running for this attempt.

    Succeeds for a queued job, or for a running one whose heartbeat stopped (its
    worker died). A single conditional UPDATE makes two deliveries of the same
    task race safely on Postgres and SQLite alike: only one of them wins. The
    new attempt starts from zero progress, not where the lost one stopped. A job
    handed off to partitions is never claimed again: they carry it.
    """
    split = exists().where(JobPartition.job_id == Job.id)
    stmt = (
        update(Job)
        .where(
            Job.id == job_id,
            or_(
                Job.status == JobStatus.QUEUED,
                (Job.status == JobStatus.RUNNING) & (Job.heartbeat_at < stale_before) & ~split,
            ),
        )
        .values(
            status=JobStatus.RUNNING,
            attempts=Job.attempts + 1,
            progress=0.0,
            heartbeat_at=now,
            started_at=func.coalesce(Job.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined,no-any-return]


def touch(session: Session, job_id: uuid.UUID, attempt: int, **values: Any) -> JobStatus | None:
    """Heartbeat (plus any progress values) for the attempt that owns the job.

    Returns the job's status, so the worker learns of a cancellation, or None when
    the job no longer belongs to this attempt.
    """
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.attempts == attempt, Job.status == JobStatus.RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount == 1:  # type: ignore[attr-defined]
        return JobStatus.RUNNING
    row = session.execute(select(Job.status, Job.attempts).where(Job.id == job_id)).first()
    if row is None or row.attempts != attempt:
        return None
    return JobStatus(row.status)


def touch_running(session: Session, job_id: uuid.UUID, **values: Any) -> bool:
    """Write ``values`` to the job if it is running (whichever attempt split it)."""
    stmt = (
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.RUNNING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1  # type: ignore[attr-defined,no-any-return]


def end_partitions(session: Session, job_id: uuid.UUID) -> None:
    """Mark every unfinished partition of an ended job cancelled: none of them may run on."""
    stmt = (
        update(JobPartition)
        .where(
            JobPartition.job_id == job_id,
            JobPartition.status.in_([PartitionStatus.QUEUED, PartitionStatus.RUNNING]),
        )
        .values(status=PartitionStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )
    session.execute(stmt)


def stale_running(session: Session, stale_before: datetime) -> Sequence[Job]:
    """Running jobs whose heartbeat stopped; rows another reaper holds are skipped.

    A job carried on by partitions is not one: its partitions have heartbeats of
    their own, watched by the partition recovery.
    """
    split = exists().where(JobPartition.job_id == Job.id)
    stmt = (
        select(Job)
        .where(Job.status == JobStatus.RUNNING, Job.heartbeat_at < stale_before, ~split)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).all()


def waiting_since(session: Session, kind: JobKind, sent_before: datetime) -> Sequence[Job]:
    """Queued jobs of ``kind`` last sent before ``sent_before``, oldest first."""
    stmt = (
        select(Job)
        .where(Job.status == JobStatus.QUEUED, Job.kind == kind, Job.enqueued_at < sent_before)
        .order_by(Job.enqueued_at, Job.id)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(stmt).all()


def count_queued(session: Session, kind: JobKind) -> int:
    stmt = (
        select(func.count())
        .select_from(Job)
        .where(Job.status == JobStatus.QUEUED, Job.kind == kind)
    )
    return int(session.scalar(stmt) or 0)


def count_by_kind_and_status(session: Session) -> list[tuple[JobKind, JobStatus, int]]:
    stmt = select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    return [(kind, status, int(count)) for kind, status, count in session.execute(stmt)]


def run_times(session: Session, limit: int) -> list[tuple[JobKind, datetime, datetime]]:
    """(kind, started_at, finished_at) of up to ``limit`` jobs that ran and ended."""
    stmt = (
        select(Job.kind, Job.started_at, Job.finished_at)
        .where(Job.finished_at.is_not(None), Job.started_at.is_not(None))
        .limit(limit)
    )
    return [
        (kind, started, ended)
        for kind, started, ended in session.execute(stmt)
        if started is not None and ended is not None
    ]


def running_attempts(
    session: Session, job_ids: Collection[uuid.UUID]
) -> set[tuple[uuid.UUID, int]]:
    """(job id, attempt) of those jobs that are running now: their live attempts."""
    if not job_ids:
        return set()
    stmt = select(Job.id, Job.attempts).where(Job.id.in_(job_ids), Job.status == JobStatus.RUNNING)
    live = {(row.id, row.attempts) for row in session.execute(stmt)}
    # A split job's partitions stage their parts under the attempt that split it.
    parts = (
        select(JobPartition.job_id, JobPartition.job_attempt)
        .join(Job, Job.id == JobPartition.job_id)
        .where(Job.id.in_(job_ids), Job.status == JobStatus.RUNNING)
        .distinct()
    )
    return live | {(row.job_id, row.job_attempt) for row in session.execute(parts)}
