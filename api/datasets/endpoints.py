"""Dataset routes: upload a CSV, list and read your datasets."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile, status

from api.auth.dependencies import CurrentUser
from api.datasets import service
from api.datasets.schemas import DatasetOut
from api.dependencies import DbSession

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DatasetOut)
def upload_dataset(
    session: DbSession,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description="CSV with the client's columns")],
    name: Annotated[str | None, Form(max_length=255)] = None,
) -> DatasetOut:
    """Upload a CSV of properties. Every row is validated first: a file with
    problems answers `422 invalid_dataset` listing them (row, column, reason; the
    first 100 and the total) and stores nothing. The answer's `uri` is what
    training and batch-inference jobs accept."""
    dataset = service.upload(session, user, file.file, name or file.filename or "dataset.csv")
    return DatasetOut.model_validate(dataset)


@router.get("", response_model=list[DatasetOut])
def list_datasets(session: DbSession, user: CurrentUser) -> list[DatasetOut]:
    """Your datasets, newest first."""
    return [DatasetOut.model_validate(d) for d in service.list_visible(session, user)]


@router.get("/{dataset_id}", response_model=DatasetOut)
def get_dataset(session: DbSession, user: CurrentUser, dataset_id: uuid.UUID) -> DatasetOut:
    """One of your datasets."""
    return DatasetOut.model_validate(service.get_visible(session, user, dataset_id))
