"""Issue 12, item 10 (job errors): a failed job's message is written for its owner.

The raw exception may name internal hosts, paths or secrets; it goes to the
worker's log only. The caller gets the code, what happened, and what to do.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.auth.passwords import hash_password
from api.db.session import session_scope
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.jobs.execution.context import Finalizer, JobContext
from api.jobs.execution.runner import run_job
from api.jobs.schemas import JobResult
from api.logging import configure_logging

SECRET = "db-internal.corp:5432 password=hunter2"


def crash_in_work(_: JobContext) -> Finalizer:
    raise RuntimeError(f"could not connect to {SECRET}")


def crash_in_finalize(_: JobContext) -> Finalizer:
    def finalize(session: Session) -> JobResult:
        raise OSError(f"disk full writing /srv/tasador/{SECRET}")

    return finalize


@pytest.mark.parametrize("work", [crash_in_work, crash_in_finalize])
def test_a_crashed_job_tells_its_owner_what_to_do_and_logs_the_exception(
    committed_db: Engine,
    capsys: pytest.CaptureFixture[str],
    work: Callable[[JobContext], Finalizer],
) -> None:
    configure_logging()  # the service's handlers, writing to the captured stderr
    with session_scope() as session:
        owner = User(username=f"u-{uuid.uuid4().hex[:8]}", password_hash=hash_password("x" * 12))
        session.add(owner)
        session.flush()
        job = Job(owner_id=owner.id, kind=JobKind.TRAINING, request={}, inputs={})
        session.add(job)
        session.flush()
        job_id = job.id

    run_job(str(job_id), work)

    with session_scope() as session:
        ended = session.get(Job, job_id)
        assert ended is not None
        assert ended.status == JobStatus.FAILED
        error = ended.error or {}
    assert error["code"] == "internal_error"
    message = error["message"]
    assert "hunter2" not in message and "db-internal" not in message
    assert "Error" not in message  # no exception class names either
    assert str(job_id) in message and "again" in message and "operator" in message
    logged = capsys.readouterr()
    # The operator still has the whole story, less the password (log redaction).
    assert "db-internal.corp" in logged.err + logged.out
    assert "hunter2" not in logged.err + logged.out
