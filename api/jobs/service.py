"""Business rules for jobs: submit, read, list, cancel, finish, and the webhook a job's end
sends. Never commits."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import queue
from api.auth.identity import Account
from api.db.base import utcnow
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.webhook_delivery import WebhookDelivery
from api.errors import Conflict, InvalidInput, NotFound
from api.jobs import repository, state
from api.jobs.schemas import JobOut, JobResult
from api.ownership import load_principal
from api.webhooks import service as webhooks_service

IDEMPOTENCY_WINDOW = timedelta(hours=24)

_TASKS = {
    JobKind.TRAINING: (queue.TASK_RUN_TRAINING, queue.QUEUE_TRAINING),
    JobKind.BATCH_INFERENCE: (queue.TASK_RUN_BATCH_INFERENCE, queue.QUEUE_INFERENCE),
}


def request_fingerprint(kind: JobKind, request: dict[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, "request": request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def replay(
    session: Session, owner: Account, key: str | None, kind: JobKind, fingerprint: str
) -> Job | None:
    """The job an earlier submit with this key created, if it may be answered again."""
    if key is None:
        return None
    previous = repository.find_by_idempotency_key(session, owner.id, key)
    if previous is None:
        return None
    if previous.created_at < utcnow() - IDEMPOTENCY_WINDOW:
        previous.idempotency_key = None  # expired: the key may be used afresh
        session.flush()
        return None
    if previous.request_hash != fingerprint:
        raise InvalidInput(
            "this Idempotency-Key was already used with a different request",
            code="idempotency_key_reused",
        )
    return previous


def replay_for(
    session: Session, owner: Account, key: str | None, kind: JobKind, request: dict[str, Any]
) -> Job | None:
    """The job to answer again for a repeated submit, checked before anything else
    so a retry gets its first answer even if the world changed since."""
    return replay(session, owner, key, kind, request_fingerprint(kind, request))


def create(
    session: Session,
    owner: Account,
    *,
    kind: JobKind,
    request: dict[str, Any],
    inputs: dict[str, Any],
    idempotency_key: str | None,
    model_version: int | None = None,
) -> tuple[Job, bool]:
    """Insert a job and defer its task until commit. Returns (job, created)."""
    fingerprint = request_fingerprint(kind, request)
    earlier = replay(session, owner, idempotency_key, kind, fingerprint)
    if earlier is not None:
        return earlier, False
    job = Job(
        owner_id=owner.id,
        kind=kind,
        status=JobStatus.QUEUED,
        request=request,
        inputs=inputs,
        model_version=model_version,
        callback_url=request.get("callback_url"),
        idempotency_key=idempotency_key,
        request_hash=fingerprint,
    )
    if idempotency_key is None:
        repository.add(session, job)  # nothing unique to collide with: no savepoint
    else:
        try:
            with session.begin_nested():
                repository.add(session, job)
        except IntegrityError:
            # A concurrent submit with the same key won the race: answer with its job.
            earlier = replay(session, owner, idempotency_key, kind, fingerprint)
            if earlier is None:
                raise
            return earlier, False
    _defer_task(session, job)  # enqueued_at is the insert's own time
    return job, True


def enqueue(session: Session, job: Job) -> None:
    """Send the job's task (again) after commit; ``enqueued_at`` records the last send."""
    job.enqueued_at = utcnow()
    _defer_task(session, job)


def _defer_task(session: Session, job: Job) -> None:
    task, queue_name = _TASKS[job.kind]
    # The task id is the job id: a resend after a lost message reuses it, which
    # Celery allows (ids name messages here; no result backend is keyed by them).
    queue.defer_send(session, task, [str(job.id)], queue_name, task_id=str(job.id))


def queue_of(kind: JobKind) -> str:
    """The broker queue that carries jobs of ``kind``."""
    return _TASKS[kind][1]


def get_visible(session: Session, user: Account, job_id: uuid.UUID) -> Job:
    """The job, if ``user`` may see it; another member's job is simply not found."""
    job = repository.get(session, job_id)
    if job is None or (job.owner_id != user.id and not user.is_admin):
        raise NotFound(f"no job {job_id}", code="job_not_found")
    return job


def encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, job_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidInput("cursor is not one this API handed out", code="invalid_cursor") from exc


def list_page(
    session: Session,
    user: Account,
    *,
    kind: JobKind | None,
    status: JobStatus | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Job], str | None]:
    after = decode_cursor(cursor) if cursor else None
    owner = None if user.is_admin else user.id
    rows = list(
        repository.page(
            session, owner_id=owner, kind=kind, status=status, limit=limit + 1, after=after
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1]) if more and rows else None


def cancel(session: Session, user: Account, job_id: uuid.UUID) -> Job:
    job = get_visible(session, user, job_id)
    session.refresh(job, with_for_update=True)
    if state.is_terminal(job.status):
        raise Conflict(f"job {job.id} already ended as {job.status}", code="job_finished")
    finish(session, job, JobStatus.CANCELLED)
    return job


def finish(
    session: Session,
    job: Job,
    status: JobStatus,
    *,
    result: JobResult | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Move a job to a terminal state and schedule what follows (webhooks).

    The one call site of every end (success, failure, cancellation, the
    reaper), so follow-up work is never forgotten on one of the paths.
    """
    state.check_transition(job.status, status)
    job.status = status
    job.result = result.model_dump() if result is not None else None
    job.error = error
    job.finished_at = utcnow()
    if status == JobStatus.SUCCEEDED:
        job.progress = 1.0
    elif job.kind == JobKind.BATCH_INFERENCE:
        repository.end_partitions(session, job.id)
    session.flush()
    if job.callback_url:
        webhooks_service.schedule_final_event(session, job, owner_snapshot(session, job))


def owner_snapshot(session: Session, job: Job) -> dict[str, Any]:
    """The job as its owner sees it polling (locations hidden from them stay hidden),
    as JSON: the data of its webhook."""
    return JobOut.seen_by(job, load_principal(session, job.owner_id)).model_dump(mode="json")


def redeliver_final_event(session: Session, job: Job) -> WebhookDelivery:
    """Send the final event of a job the caller may see once more.

    ``409 job_not_finished`` while the job runs, ``409 no_callback_url`` when it
    has no callback.
    """
    if not state.is_terminal(job.status):
        raise Conflict(
            f"job {job.id} has not ended yet; nothing to redeliver", code="job_not_finished"
        )
    if not job.callback_url:
        raise Conflict(f"job {job.id} has no callback_url", code="no_callback_url")
    return webhooks_service.redeliver(session, job, owner_snapshot(session, job))


@dataclass(frozen=True)
class JobStatistics:
    counts: dict[tuple[JobKind, JobStatus], int]  # jobs by kind and status
    mean_run_seconds: dict[JobKind, float]  # of finished jobs, by kind


def statistics(session: Session, *, sample: int = 10_000) -> JobStatistics:
    """Job counts, and mean run times over up to ``sample`` finished jobs."""
    counts = {(kind, status): n for kind, status, n in repository.count_by_kind_and_status(session)}
    run_seconds: dict[JobKind, list[float]] = {}
    for kind, started, ended in repository.run_times(session, sample):
        run_seconds.setdefault(kind, []).append((ended - started).total_seconds())
    means = {kind: sum(values) / len(values) for kind, values in run_seconds.items()}
    return JobStatistics(counts, means)
