"""Dataset routes: upload a CSV, list and read your datasets."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request, status
from starlette.concurrency import run_in_threadpool

from api.auth.dependencies import CurrentUser
from api.config import get_settings
from api.datasets import service
from api.datasets.schemas import NAME_MAX_LENGTH, DatasetOut
from api.datasets.upload import FILE_FIELD, receive_upload
from api.dependencies import DbSession

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

# The body is read by ``receive_upload`` (after authentication), not by FastAPI,
# so the form is described here for /docs.
_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV with the client's columns",
                        },
                        "name": {"type": "string", "maxLength": NAME_MAX_LENGTH},
                    },
                }
            }
        },
    }
}
_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "`payload_too_large`: the file is over the upload limit"},
    422: {"description": "`invalid_dataset` (the problems found) or `invalid_upload`"},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetOut,
    openapi_extra=_UPLOAD_BODY,
    responses=_UPLOAD_ERRORS,
)
async def upload_dataset(request: Request, session: DbSession, user: CurrentUser) -> DatasetOut:
    """Upload a CSV of properties. Every row is validated first: a file with
    problems answers `422 invalid_dataset` listing them (row, column, reason; the
    first 100 and the total) and stores nothing. A file over the upload limit
    answers `413 payload_too_large` as soon as it passes the limit. The answer's
    `uri` is what training and batch-inference jobs accept."""
    received = await receive_upload(request, max_file_bytes=get_settings().upload_max_bytes)
    with received.file:
        name = received.fields.get("name") or received.filename or "dataset.csv"
        dataset = await run_in_threadpool(service.upload, session, user, received.file, name)
    return DatasetOut.model_validate(dataset)


@router.get("", response_model=list[DatasetOut])
def list_datasets(session: DbSession, user: CurrentUser) -> list[DatasetOut]:
    """Your datasets, newest first."""
    return [DatasetOut.model_validate(d) for d in service.list_visible(session, user)]


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(session: DbSession, user: CurrentUser, dataset_id: uuid.UUID) -> DatasetOut:
    """One of your datasets."""
    return DatasetOut.model_validate(service.get_visible(session, user, dataset_id))
