"""Dataset uploads: validate, fingerprint and store a CSV. Never commits."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from typing import IO

from sqlalchemy.orm import Session

from api.auth.identity import Account
from api.config import get_settings
from api.datasets import repository
from api.datasets.reading import HashingReader, problems_as_details, summarise
from api.datasets.schemas import NAME_MAX_LENGTH
from api.db.tables.dataset import Dataset
from api.errors import InvalidInput, NotFound, PayloadTooLarge
from api.ownership import dataset_uri
from api.storage import get_store


def _check_size(upload: IO[bytes], limit: int) -> None:
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(0)
    if size > limit:
        raise PayloadTooLarge(f"the file is {size} bytes; the limit is {limit} bytes")


def _check_name(name: str) -> None:
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidInput(
            f"the dataset name is {len(name)} characters long; at most {NAME_MAX_LENGTH} "
            "(send a shorter `name`, or rename the file)",
            code="invalid_dataset_name",
            details={"field": "name", "max_length": NAME_MAX_LENGTH},
        )


def upload(session: Session, owner: Account, upload: IO[bytes], name: str) -> Dataset:
    """Validate the whole file, then store it; a file with problems stores nothing."""
    settings = get_settings()
    _check_name(name)
    _check_size(upload, settings.upload_max_bytes)
    hashing = HashingReader(upload)
    summary = summarise(hashing, require_target=False)  # type: ignore[arg-type]
    if summary.problem_count:
        raise InvalidInput(
            f"the file has {summary.problem_count} problem(s); nothing was stored",
            code="invalid_dataset",
            details=problems_as_details(summary),
        )
    if summary.rows == 0:
        raise InvalidInput("the file has a header but no data rows", code="invalid_dataset")
    dataset_id = uuid.uuid4()
    uri = dataset_uri(owner.id, dataset_id, settings)
    upload.seek(0)
    with get_store().open_write(uri) as out:
        shutil.copyfileobj(upload, out, length=1024 * 1024)
    dataset = Dataset(
        id=dataset_id,
        owner_id=owner.id,
        name=name,
        uri=uri,
        rows=summary.rows,
        columns=summary.columns,
        sha256=hashing.digest.hexdigest(),
        size_bytes=hashing.size,
    )
    return repository.add(session, dataset)


def get_visible(session: Session, user: Account, dataset_id: uuid.UUID) -> Dataset:
    dataset = repository.get(session, dataset_id)
    if dataset is None or (dataset.owner_id != user.id and not user.is_admin):
        raise NotFound(f"no dataset {dataset_id}", code="dataset_not_found")
    return dataset


def list_visible(session: Session, user: Account) -> Sequence[Dataset]:
    return repository.for_owner(session, None if user.is_admin else user.id)
