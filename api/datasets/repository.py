"""All SQL for datasets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.tables.dataset import Dataset


def add(session: Session, dataset: Dataset) -> Dataset:
    session.add(dataset)
    session.flush()
    return dataset


def get(session: Session, dataset_id: uuid.UUID) -> Dataset | None:
    return session.get(Dataset, dataset_id)


def for_owner(session: Session, owner_id: int | None, limit: int = 1000) -> Sequence[Dataset]:
    stmt = select(Dataset).order_by(Dataset.created_at.desc()).limit(limit)
    if owner_id is not None:
        stmt = stmt.where(Dataset.owner_id == owner_id)
    return session.scalars(stmt).all()
