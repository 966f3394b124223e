"""Running a job inside a worker: claim, heartbeat, cancellation, finish.

Tasks run at least once, so everything here is safe to run twice: a job that
already ended is left alone, and a conditional UPDATE decides which of two
deliveries owns a run. The work itself happens outside any transaction; only
short transactions touch the job row while it runs.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.errors import TasadorError
from api.jobs import repository, service, state
from api.logging import get_logger

log = get_logger("api.jobs.runner")

Finalizer = Callable[[Session], dict[str, Any]]


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


class JobCancelled(Exception):
    """Raised inside the work when the job was cancelled while it ran."""


class JobFailed(TasadorError):
    """A failure the job reports as data (``error.code``), not a crash."""


@dataclass
class JobContext:
    """What the work function sees of its job, and how it reports back."""

    job_id: uuid.UUID
    attempt: int
    kind: str
    owner_id: int
    request: dict[str, Any]
    inputs: dict[str, Any]
    model_version: int | None
    fraction: float = 0.0
    cancelled: threading.Event = field(default_factory=threading.Event)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)

    def progress(self, fraction: float) -> None:
        """Record progress; the heartbeat thread writes it out."""
        self.fraction = min(max(fraction, self.fraction), 1.0)

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(str(self.job_id))

    def on_discard(self, cleanup: Callable[[], None]) -> None:
        """Undo an output if the run does not end in success (no partial output)."""
        self._cleanups.append(cleanup)

    def discard_outputs(self) -> None:
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception:
                log.exception("cleanup_failed", job_id=str(self.job_id))


class Heartbeat(threading.Thread):
    """Writes heartbeat and progress while the work runs; notices cancellation."""

    def __init__(self, ctx: JobContext, interval: float) -> None:
        super().__init__(name=f"heartbeat-{ctx.job_id}", daemon=True)
        self.ctx = ctx
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        try:
            with session_scope() as session:
                status = repository.touch(
                    session,
                    self.ctx.job_id,
                    self.ctx.attempt,
                    heartbeat_at=utcnow(),
                    progress=round(self.ctx.fraction, 4),
                )
        except Exception:
            log.exception("heartbeat_failed", job_id=str(self.ctx.job_id))
            return
        if status != state.RUNNING:
            self.ctx.cancelled.set()


def _claim(job_id: uuid.UUID) -> JobContext | None:
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
        if job.attempts >= settings.job_max_attempts and job.status == state.RUNNING:
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


def _end(
    ctx: JobContext, status: str, finalize: Finalizer | None, error: dict[str, Any] | None
) -> None:
    with session_scope() as session:
        job = repository.get(session, ctx.job_id, for_update=True)
        if job is None or job.status != state.RUNNING or job.attempts != ctx.attempt:
            ctx.discard_outputs()  # cancelled, or taken over by another attempt
            return
        result = finalize(session) if finalize is not None else None
        service.finish(session, job, status, result=result, error=error)


def run_job(job_id: str, work: Callable[[JobContext], Finalizer]) -> None:
    """Run ``work`` for the job unless it already ended or another worker owns it."""
    ctx = _claim(uuid.UUID(job_id))
    if ctx is None:
        return
    structlog.contextvars.bind_contextvars(job_id=job_id, attempt=ctx.attempt)
    log.info("job_started", kind=ctx.kind)
    settings = get_settings()
    heartbeat = Heartbeat(ctx, min(settings.job_heartbeat_seconds, 1.0))
    heartbeat.start()
    finalize: Finalizer | None = None
    error: dict[str, Any] | None = None
    try:
        finalize = work(ctx)
    except JobCancelled:
        log.info("job_cancelled_while_running")
    except SoftTimeLimitExceeded:
        error = {"code": "time_limit", "message": "the job ran past its time limit"}
    except TasadorError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
    except Exception as exc:
        log.exception("job_crashed", error=repr(exc))
        error = internal_error(ctx.job_id)
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    if finalize is None and error is None:  # cancelled
        ctx.discard_outputs()
        return
    try:
        if error is None:
            try:
                _end(ctx, state.SUCCEEDED, finalize, None)
                return
            except TasadorError as exc:
                error = {"code": exc.code, "message": exc.message, "details": exc.details}
            except Exception as exc:
                log.exception("job_finalize_failed", error=repr(exc))
                error = internal_error(ctx.job_id)
        ctx.discard_outputs()
        _end(ctx, state.FAILED, None, error)
    finally:
        log.info("job_ended", failed=error is not None)
        structlog.contextvars.unbind_contextvars("job_id", "attempt")
