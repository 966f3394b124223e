"""Job pages: the caller's jobs, and one job that updates itself while it runs."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from api.db.base import utcnow
from api.db.tables.job import Job, JobKind, JobStatus
from api.dependencies import DbSession
from api.jobs import downloads, state
from api.jobs import service as jobs_service
from api.jobs.schemas import JobOut
from api.ownership import Principal
from api.ui.dependencies import UiUser, render
from api.webhooks import service as webhooks_service
from api.webhooks.schemas import DeliveryOut

router = APIRouter(prefix="/ui/jobs", include_in_schema=False)

PAGE_SIZE: Final[int] = 25
# What a user can do about a failed job, by error code (the message says what happened).
WHAT_TO_DO: Final[dict[str, str]] = {
    "validation_error": "Fix the data or parameters the message names, then submit again.",
    "invalid_input": "Fix the data or parameters the message names, then submit again.",
    "invalid_params": "Fix the parameters the message names, then submit again.",
    "data_not_found": "Check the data URI: upload the file again or use one of your datasets.",
    "access_denied": "Use data you may read: your own datasets or your jobs' outputs.",
    "output_exists": "Choose an output_data location that does not exist yet.",
    "worker_lost": "The worker stopped several times while running it: submit the job again.",
    "model_not_found": "Choose a model version or alias that exists (see Models).",
}
DEFAULT_ADVICE: Final[str] = "Read the message above; if it names no fix, submit the job again."


def duration(job: Job | JobOut) -> str:
    """How long the job ran (or has been running), as ``1 min 05 s``."""
    if job.started_at is None:
        return "-"
    end: datetime = job.finished_at or utcnow()
    seconds = max(0, int((end - job.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@dataclass(frozen=True)
class JobRow:
    job: JobOut
    duration: str
    finished: bool


@router.get("", response_class=HTMLResponse)
def jobs_list(
    request: Request,
    db: DbSession,
    viewer: UiUser,
    kind: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """Jobs as ``GET /v1/jobs`` lists them: a member's own, every job for an admin."""
    kind_filter = JobKind(kind) if kind in {k.value for k in JobKind} else None
    status_filter = JobStatus(status) if status in {s.value for s in JobStatus} else None
    rows, next_cursor = jobs_service.list_page(
        db, viewer.user, kind=kind_filter, status=status_filter, limit=PAGE_SIZE, cursor=cursor
    )
    principal = Principal.of(viewer.user)
    items = [
        JobRow(JobOut.seen_by(job, principal), duration(job), state.is_terminal(job.status))
        for job in rows
    ]
    return render(
        request,
        "jobs.html",
        viewer,
        items=items,
        next_cursor=next_cursor,
        kind=kind_filter.value if kind_filter else "",
        status=status_filter.value if status_filter else "",
        kinds=[k.value for k in JobKind],
        statuses=[s.value for s in JobStatus],
    )


def _state(job: Job) -> dict[str, Any]:
    return {
        "status": job.status,
        "progress": job.progress,
        "attempts": job.attempts,
        "duration": duration(job),
        "finished": state.is_terminal(job.status),
    }


@router.get("/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, db: DbSession, viewer: UiUser, job_id: uuid.UUID) -> Response:
    job = jobs_service.get_visible(db, viewer.user, job_id)
    deliveries = [DeliveryOut.of(h.delivery, h.attempts) for h in webhooks_service.history(db, job)]
    shown = JobOut.seen_by(job, Principal.of(viewer.user))
    advice = WHAT_TO_DO.get(shown.error.code, DEFAULT_ADVICE) if shown.error else None
    return render(
        request,
        "job.html",
        viewer,
        job=shown,
        state=_state(job),
        deliveries=deliveries,
        advice=advice,
        files=downloads.available(job),
        request_json=_pretty(shown.request),
        result_json=_pretty(shown.result.model_dump(mode="json")) if shown.result else None,
    )


@router.get("/{job_id}/state")
def job_state(db: DbSession, viewer: UiUser, job_id: uuid.UUID) -> dict[str, Any]:
    """What the job page refreshes while the job runs (polled by job.js)."""
    return _state(jobs_service.get_visible(db, viewer.user, job_id))


@router.get("/{job_id}/download/{kind}")
def job_file(
    db: DbSession, viewer: UiUser, job_id: uuid.UUID, kind: downloads.FileKind
) -> StreamingResponse:
    """A job's output or errors file, by the same rules as ``GET /v1/jobs/{id}/output``."""
    found = downloads.find_download(db, viewer.user, job_id, kind)
    return StreamingResponse(
        downloads.stream(found),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Content-Length": str(found.size),
        },
    )


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)
