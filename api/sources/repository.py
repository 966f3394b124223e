"""All SQL for registered data sources (in the service's own database)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.db.tables.data_source import DataSource
from api.db.tables.job import Job, JobStatus


def add(session: Session, source: DataSource) -> DataSource:
    session.add(source)
    session.flush()
    return source


def get(session: Session, name: str) -> DataSource | None:
    return session.scalars(select(DataSource).where(DataSource.name == name)).one_or_none()


def all_sources(session: Session) -> Sequence[DataSource]:
    return session.scalars(select(DataSource).order_by(DataSource.name)).all()


def remove(session: Session, name: str) -> None:
    session.execute(delete(DataSource).where(DataSource.name == name))


def active_jobs(session: Session) -> Sequence[Job]:
    """Queued and running jobs (the ones a removed source would break)."""
    return session.scalars(
        select(Job).where(Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    ).all()
