"""A batch job's files, for download: its predictions and its errors file.

``find_download`` says which object a caller may fetch (or why not) without
reading it; ``stream`` yields it in chunks from the object store, so a large
output never sits in memory. The HTTP routes are ``GET /v1/jobs/{id}/output``
and ``/errors``; a page that links to a job's files can use the same two
functions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from sqlalchemy.orm import Session

from api.auth.identity import Account
from api.db.tables.job import Job, JobStatus
from api.errors import Conflict, NotFound
from api.jobs import service
from api.storage import get_store

FileKind = Literal["output", "errors"]
_RESULT_KEY: Final[dict[FileKind, str]] = {"output": "output_data", "errors": "errors_data"}
CHUNK_BYTES: Final[int] = 256 * 1024


@dataclass(frozen=True)
class Download:
    uri: str
    filename: str
    size: int


def download_path(job_id: uuid.UUID, kind: FileKind) -> str:
    """The API path of a job's file, for links."""
    return f"/v1/jobs/{job_id}/{kind}"


def available(job: Job) -> list[FileKind]:
    """The files of ``job`` that can be fetched now: none until it has succeeded."""
    if job.status != JobStatus.SUCCEEDED:
        return []
    result = job.result or {}
    return [kind for kind, key in _RESULT_KEY.items() if isinstance(result.get(key), str)]


def find_download(session: Session, user: Account, job_id: uuid.UUID, kind: FileKind) -> Download:
    """The job's ``kind`` file if ``user`` may fetch it now.

    ``404 job_not_found`` for a job that is not theirs, ``409 job_not_finished``
    while it is queued or running, ``404 file_not_found`` when the job has no
    such file (a training job, a failed or cancelled job, no invalid rows)."""
    job = service.get_visible(session, user, job_id)
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        raise Conflict(
            f"job {job_id} is {job.status.value}; its files exist once it has succeeded",
            code="job_not_finished",
        )
    uri = (job.result or {}).get(_RESULT_KEY[kind]) if job.status == JobStatus.SUCCEEDED else None
    if not isinstance(uri, str):
        why = "no invalid rows" if kind == "errors" else "no output file"
        raise NotFound(f"job {job_id} ({job.status.value}) has {why}", code="file_not_found")
    size = get_store().head(uri).size  # a file removed since answers 404 here, not mid-stream
    return Download(uri=uri, filename=uri.rsplit("/", 1)[-1], size=size)


def stream(download: Download) -> Iterator[bytes]:
    yield from get_store().iter_chunks(download.uri, CHUNK_BYTES)
