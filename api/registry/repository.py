"""All SQL for model versions and aliases."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.db.tables.alias_event import AliasEvent
from api.db.tables.model_alias import ModelAlias
from api.db.tables.model_version import ModelVersion


def add_version(session: Session, version: ModelVersion) -> ModelVersion:
    session.add(version)
    session.flush()
    return version


def get_version(session: Session, number: int) -> ModelVersion | None:
    return session.get(ModelVersion, number)


def list_versions(session: Session, limit: int, before: int | None) -> Sequence[ModelVersion]:
    stmt = select(ModelVersion).order_by(ModelVersion.version.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(ModelVersion.version < before)
    return session.scalars(stmt).all()


def get_alias(session: Session, name: str, *, for_update: bool = False) -> ModelAlias | None:
    stmt = select(ModelAlias).where(ModelAlias.name == name)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def version_exists(session: Session, number: int) -> bool:
    stmt = select(ModelVersion.version).where(ModelVersion.version == number)
    return session.scalar(stmt) is not None


def alias_version(session: Session, name: str) -> int | None:
    """The version number an alias points at (None when there is no such alias)."""
    return session.scalar(select(ModelAlias.version).where(ModelAlias.name == name))


def all_aliases(session: Session) -> dict[str, int]:
    return {a.name: a.version for a in session.scalars(select(ModelAlias))}


def aliases_by_version(session: Session, versions: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    stmt = select(ModelAlias).where(ModelAlias.version.in_(versions)).order_by(ModelAlias.name)
    for alias in session.scalars(stmt):
        found[alias.version].append(alias.name)
    return found


def add_alias(session: Session, alias: ModelAlias) -> None:
    session.add(alias)
    session.flush()


def remove_alias(session: Session, name: str) -> None:
    session.execute(delete(ModelAlias).where(ModelAlias.name == name))


def recent_events(session: Session, limit: int) -> Sequence[AliasEvent]:
    stmt = select(AliasEvent).order_by(AliasEvent.created_at.desc(), AliasEvent.id.desc())
    return session.scalars(stmt.limit(limit)).all()


def add_event(session: Session, event: AliasEvent) -> None:
    session.add(event)
    session.flush()
