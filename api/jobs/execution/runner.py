"""Running a job inside a worker: claim, heartbeat, cancellation, finish.

Tasks run at least once, so everything here is safe to run twice: a job that
already ended is left alone, and a conditional UPDATE decides which of two
deliveries owns a run. The work itself happens outside any transaction; only
short transactions touch the job row while it runs.

An attempt can lose the job while it works (a paused worker whose heartbeat went
stale is superseded by the next attempt). Its outputs are therefore staged under
its own attempt (``api.jobs.execution.outputs``) and published only by the transaction
that records the result, under the job row lock, after checking the row still
names this attempt. A superseded attempt touches nothing but its staging.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobStatus
from api.errors import TasadorError
from api.jobs import repository, service, state
from api.jobs.execution.context import (
    Error,
    Finalizer,
    JobCancelled,
    JobContext,
    JobHandedOff,
    Outcome,
    error_of,
)
from api.jobs.execution.heartbeat import Heartbeat
from api.logging import get_logger

log = get_logger("api.jobs.execution.runner")


def internal_error(job_id: uuid.UUID) -> dict[str, Any]:
    """The caller's side of a crash: what happened and what to do. The exception
    itself (which may name hosts, paths or internals) goes to the log only."""
    return {
        "code": "internal_error",
        "message": (
            f"the job stopped on an unexpected error in the service; it is logged under "
            f"job id {job_id}. Submit the job again; if it fails the same way, "
            "give this job id to the operator"
        ),
    }


def claim(job_id: uuid.UUID) -> JobContext | None:
    """Start the next attempt of the job, or None if it ended or another attempt owns it."""
    settings = get_settings()
    now = utcnow()
    stale = now - timedelta(seconds=settings.job_heartbeat_timeout_seconds)
    with session_scope() as session:
        job = repository.get(session, job_id)
        if job is None:
            log.warning("job_missing", job_id=str(job_id))
            return None
        if state.is_terminal(job.status):
            return None
        if job.attempts >= settings.job_max_attempts and job.status == JobStatus.RUNNING:
            return None  # the reaper fails it as worker_lost
        if not repository.claim(session, job_id, now=now, stale_before=stale):
            return None  # another delivery of this task owns the run
        session.refresh(job)
        return JobContext(
            job_id=job.id,
            attempt=job.attempts,
            kind=job.kind,
            owner_id=job.owner_id,
            request=dict(job.request),
            inputs=dict(job.inputs or {}),
            model_version=job.model_version,
        )


def execute(
    ctx: JobContext, work: Callable[[JobContext], Finalizer]
) -> tuple[Finalizer | None, Error | None]:
    """Run the work beside a heartbeat.

    Returns (finalizer, None) on success, (None, error) on failure, and
    (None, None) when the work stopped because the attempt lost the job.
    """
    interval = min(get_settings().job_heartbeat_seconds, 1.0)
    heartbeat = Heartbeat(ctx.job_id, ctx.attempt, lambda: ctx.fraction, ctx.cancelled, interval)
    heartbeat.start()
    try:
        return work(ctx), None
    except JobCancelled:
        return None, None
    except JobHandedOff:
        raise
    except SoftTimeLimitExceeded:
        return None, {"code": "time_limit", "message": "the job ran past its time limit"}
    except TasadorError as exc:
        return None, error_of(exc)
    except Exception as exc:
        log.exception("job_crashed", error=repr(exc))
        return None, internal_error(ctx.job_id)
    finally:
        heartbeat.stopped.set()
        heartbeat.join()


def conclude(ctx: JobContext, finalize: Finalizer | None, error: Error | None) -> Outcome:
    """Record how the attempt ended, if it still owns the job; always drop its staging."""
    try:
        if finalize is not None:
            try:
                outcome = _record(ctx, JobStatus.SUCCEEDED, finalize, None)
            except TasadorError as exc:
                error = error_of(exc)
            except Exception as exc:
                log.exception("job_finalize_failed", error=repr(exc))
                error = internal_error(ctx.job_id)
        elif error is None:
            outcome = _stopped(ctx)
        if error is not None:
            outcome = _record(ctx, JobStatus.FAILED, None, error)
    finally:
        ctx.outputs.discard()
    if outcome is Outcome.SUPERSEDED:
        log.warning("job_superseded", reason="another attempt or the reaper took the job over")
    elif outcome is Outcome.CANCELLED:
        log.info("job_cancelled_while_running")
    else:
        log.info("job_ended", failed=outcome is Outcome.FAILED)
    if outcome is Outcome.SUCCEEDED:
        _after_success(ctx)
    return outcome


def _after_success(ctx: JobContext) -> None:
    """The job's steps that follow its recorded success; a failure there is logged
    and never changes the job."""
    for step in ctx.after_success:
        try:
            step()
        except Exception as exc:
            log.warning("after_success_failed", error=f"{type(exc).__name__}: {exc}")


def run_job(job_id: str, work: Callable[[JobContext], Finalizer]) -> Outcome | None:
    """Run ``work`` for the job unless it already ended or another worker owns it."""
    ctx = claim(uuid.UUID(job_id))
    if ctx is None:
        return None
    structlog.contextvars.bind_contextvars(job_id=job_id, attempt=ctx.attempt)
    try:
        log.info("job_started", kind=ctx.kind)
        try:
            finalize, error = execute(ctx, work)
        except JobHandedOff:
            ctx.outputs.discard()
            log.info("job_handed_off", reason="its partitions carry it on")
            return Outcome.HANDED_OFF
        return conclude(ctx, finalize, error)
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "attempt")


def _lost(job: Job | None, ctx: JobContext) -> Outcome | None:
    """Why this attempt may no longer record anything, or None while it owns the job."""
    if job is None or job.attempts != ctx.attempt:
        return Outcome.SUPERSEDED
    if job.status == JobStatus.CANCELLED:
        return Outcome.CANCELLED
    if job.status != JobStatus.RUNNING:
        return Outcome.SUPERSEDED  # e.g. failed as worker_lost while this attempt was paused
    return None


def _stopped(ctx: JobContext) -> Outcome:
    with session_scope() as session:
        lost = _lost(repository.get(session, ctx.job_id), ctx)
    if lost is not None:
        return lost
    error = {"code": "internal_error", "message": "the run stopped without being cancelled"}
    return _record(ctx, JobStatus.FAILED, None, error)


def _record(
    ctx: JobContext, status: JobStatus, finalize: Finalizer | None, error: Error | None
) -> Outcome:
    """End the job as ``status`` if this attempt still owns it; publish on success.

    Publishing happens after the result is built and before the commit, under
    the job row lock, so a registered model or a recorded output never points
    at a missing object, and no other attempt can publish meanwhile. Should the
    commit fail, the copies are removed again unless the result was recorded.
    """
    try:
        with session_scope() as session:
            job = repository.get(session, ctx.job_id, for_update=True)
            lost = _lost(job, ctx)
            if lost is not None:
                return lost
            assert job is not None
            result = finalize(session) if finalize is not None else None
            service.finish(session, job, status, result=result, error=error)
            if status == JobStatus.SUCCEEDED:
                ctx.outputs.publish()
    except BaseException:
        if ctx.outputs.published and not _recorded(ctx):
            ctx.outputs.unpublish()
        raise
    return Outcome.SUCCEEDED if status == JobStatus.SUCCEEDED else Outcome.FAILED


def _recorded(ctx: JobContext) -> bool:
    """Whether this attempt's success is in the database (a commit can fail after the fact)."""
    try:
        with session_scope() as session:
            job = repository.get(session, ctx.job_id)
            return (
                job is not None
                and job.status == JobStatus.SUCCEEDED
                and job.attempts == ctx.attempt
            )
    except Exception:
        # Cannot tell: keep the copies. If unrecorded, the next attempt replaces them.
        log.exception("job_result_unknown")
        return True
