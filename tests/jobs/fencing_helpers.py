"""Driving job attempts by hand, against the real database and S3.

A worker paused past the heartbeat timeout is superseded by the next attempt,
and may then resume. These helpers play both attempts in one process, phase by
phase (claim, work, conclude), with the same code a worker runs, so a test can
choose exactly when each attempt ends.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.model_version import ModelVersion
from api.db.tables.user import User
from api.jobs import service
from api.jobs.execution.context import JobContext
from api.jobs.execution.runner import claim


def committed_user() -> int:
    """An admin, so the jobs may use any location (ownership is tested elsewhere)."""
    with session_scope() as session:
        user = User(username=f"fence-{uuid.uuid4().hex[:8]}", password_hash="x", role="admin")
        session.add(user)
        session.flush()
        return user.id


def submit(owner_id: int, kind: JobKind, request: dict[str, Any], **extra: Any) -> uuid.UUID:
    """Commit a queued job (its task goes to the broker, where no worker listens)."""
    with session_scope() as session:
        owner = session.get(User, owner_id)
        assert owner is not None
        job, _ = service.create(
            session, owner, kind=kind, request=request, inputs={}, idempotency_key=None, **extra
        )
        return job.id


def claimed(job_id: uuid.UUID) -> JobContext:
    ctx = claim(job_id)
    assert ctx is not None, "the attempt could not claim the job"
    return ctx


def silence(job_id: uuid.UUID) -> None:
    """What a SIGSTOP looks like from the database: the heartbeat went stale."""
    with session_scope() as session:
        session.execute(
            update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow() - timedelta(hours=1))
        )


def job_row(job_id: uuid.UUID) -> Job:
    with session_scope() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def model_versions() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(ModelVersion)) or 0)


def is_running(job_id: uuid.UUID) -> bool:
    return job_row(job_id).status == JobStatus.RUNNING
