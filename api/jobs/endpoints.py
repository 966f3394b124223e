"""Job routes: submit training and batch-inference jobs, poll, list, cancel, and each
job's webhook deliveries."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.auth.dependencies import CurrentUser
from api.db.tables.job import JobKind, JobStatus
from api.dependencies import DbSession, in_one_thread
from api.error_docs import errors
from api.jobs import downloads, service, submission
from api.jobs.schemas import BatchJobIn, JobOut, JobPage, TrainingJobIn
from api.jobs.submission import KNOWN_ALIAS
from api.ownership import Principal
from api.webhooks import service as webhooks_service
from api.webhooks.schemas import DeliveryList, DeliveryOut

# Tags per route: a job's deliveries are listed with the webhooks in /docs.
router = APIRouter(prefix="/v1/jobs")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Repeat a submit safely: the same key within 24 h answers the first job again.",
    ),
]


_SUBMIT_ERRORS = errors(
    403,
    404,
    409,
    s403="`forbidden` (promotion by a member, or a member's query on a data source) or "
    "`access_denied` (data you may not use)",
    s404="`data_not_found`, `model_not_found` or `source_not_found`",
    s409="`output_exists`, or an `Idempotency-Key` reused with another body",
)


def _accepted(response: Response, job_id: uuid.UUID) -> None:
    response.headers["Location"] = f"/v1/jobs/{job_id}"


@router.post(
    "/training",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    tags=["jobs"],
    responses=_SUBMIT_ERRORS,
)
async def submit_training(
    body: TrainingJobIn,
    session: DbSession,
    user: CurrentUser,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Train a model on a CSV in the object store. The job is queued and answered
    at once (`202`, `Location` header); poll it or pass `callback_url`. On
    success the new version is registered and, per `promote`, may become
    `production`. Moving `production` is an admin act: `promote` other than
    `never` from a member answers `403 forbidden`. `train_data` and `test_data`
    must be data you may read (your datasets, your jobs' outputs, a readable
    bucket): another location answers `403 access_denied`, another user's data
    `404` like a missing object."""
    job = await in_one_thread(
        session,
        lambda: JobOut.seen_by(
            submission.submit_training(session, user, body, idempotency_key), Principal.of(user)
        ),
    )
    _accepted(response, job.id)
    return job


@router.post(
    "/batch-inference",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    tags=["jobs"],
    responses=_SUBMIT_ERRORS,
)
async def submit_batch_inference(
    body: BatchJobIn,
    session: DbSession,
    user: CurrentUser,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Predict every row of a CSV with a model version (resolved now, from an alias
    or a number). Valid rows get a `price_pred` column in `output_data`; invalid
    rows go to `errors_data` (`output_data` with `.errors.csv`) with row number,
    column and reason. A member writes only under their own output prefix
    (`403 access_denied` elsewhere); a job never replaces an object, so an
    `output_data` (or its errors file) that exists answers `409 output_exists`."""
    job = await in_one_thread(
        session,
        lambda: JobOut.seen_by(
            submission.submit_batch(
                session, user, body, idempotency_key, getattr(request.app.state, KNOWN_ALIAS, None)
            ),
            Principal.of(user),
        ),
    )
    _accepted(response, job.id)
    return job


@router.get("", response_model=JobPage, tags=["jobs"])
def list_jobs(
    session: DbSession,
    user: CurrentUser,
    kind: JobKind | None = None,
    status_: Annotated[JobStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> JobPage:
    """Your jobs, newest first. Pass `next_cursor` back as `cursor` for the next page."""
    rows, next_cursor = service.list_page(
        session, user, kind=kind, status=status_, limit=limit, cursor=cursor
    )
    viewer = Principal.of(user)
    return JobPage(items=[JobOut.seen_by(j, viewer) for j in rows], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobOut, tags=["jobs"])
def get_job(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> JobOut:
    """A job: status, progress (0..1), attempts, result or error."""
    return JobOut.seen_by(service.get_visible(session, user, job_id), Principal.of(user))


@router.post("/{job_id}/cancel", response_model=JobOut, tags=["jobs"], responses=errors(409))
def cancel_job(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> JobOut:
    """Cancel a queued or running job. A queued job never starts; a running one
    stops at its next chunk or boosting stage and leaves no partial output.
    `409 job_finished` if it already ended."""
    return JobOut.seen_by(service.cancel(session, user, job_id), Principal.of(user))


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}},
    **errors(
        404,
        409,
        s404="`job_not_found`, or `file_not_found`: the job has no such file",
        s409="`job_not_finished`: the job is queued or running",
    ),
}


async def _file(
    session: DbSession, user: CurrentUser, job_id: uuid.UUID, kind: downloads.FileKind
) -> CsvResponse:
    found = await run_in_threadpool(downloads.find_download, session, user, job_id, kind)
    disposition = f'attachment; filename="{found.filename}"'
    return CsvResponse(
        downloads.stream(found),
        headers={"Content-Disposition": disposition, "Content-Length": str(found.size)},
    )


@router.get(
    "/{job_id}/output", response_class=CsvResponse, responses=_FILE_RESPONSES, tags=["jobs"]
)
async def download_output(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> CsvResponse:
    """The predictions of a succeeded batch job (CSV: the input rows plus
    `price_pred`), streamed. `409 job_not_finished` while it runs, `404
    file_not_found` for a job without output (training, failed, cancelled)."""
    return await _file(session, user, job_id, "output")


@router.get(
    "/{job_id}/errors", response_class=CsvResponse, responses=_FILE_RESPONSES, tags=["jobs"]
)
async def download_errors(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> CsvResponse:
    """The invalid rows of a succeeded batch job (CSV: `row,column,reason`; `row`
    counts data rows from 1, the header not included). `404 file_not_found`
    when every row was valid."""
    return await _file(session, user, job_id, "errors")


@router.get("/{job_id}/deliveries", response_model=DeliveryList, tags=["webhooks"])
def list_deliveries(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> DeliveryList:
    """The webhook deliveries of one of your jobs, with every attempt: when,
    the status code or error, how long it took, and the start of the answer."""
    job = service.get_visible(session, user, job_id)
    history = webhooks_service.history(session, job)
    return DeliveryList(items=[DeliveryOut.of(h.delivery, h.attempts) for h in history])


@router.post(
    "/{job_id}/deliveries/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    tags=["webhooks"],
    responses=errors(409),
)
def redeliver(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> DeliveryOut:
    """Send the job's final event once more (same `webhook-id`, so a receiver
    that de-duplicates sees it as the same event). `409` if the job has not
    ended or has no `callback_url`."""
    job = service.get_visible(session, user, job_id)
    delivery = service.redeliver_final_event(session, job)
    item = webhooks_service.delivery_history(session, delivery)
    return DeliveryOut.of(item.delivery, item.attempts)
