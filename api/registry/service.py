"""Model registry rules: register versions, resolve and move aliases. Never commits."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from api.db.base import MAX_INT_ID, utcnow
from api.db.tables.alias_event import AliasEvent
from api.db.tables.model_alias import ModelAlias
from api.db.tables.model_version import ModelVersion
from api.errors import Conflict, InvalidInput, NotFound
from api.registry import repository

PRODUCTION = "production"
ALIAS_PATTERN = re.compile(r"^[a-z0-9-]{1,32}$")


def check_alias_name(name: str) -> str:
    if not ALIAS_PATTERN.fullmatch(name):
        raise InvalidInput(
            f"alias {name!r} is not valid: use 1 to 32 of a-z, 0-9 and '-'", code="invalid_alias"
        )
    return name


def register(
    session: Session,
    *,
    preset: str,
    params: dict[str, Any],
    metrics: dict[str, Any],
    evaluation: dict[str, Any],
    training_data: dict[str, Any],
    artifact_uri: str,
    job_id: uuid.UUID | None = None,
    created_by: int | None = None,
) -> ModelVersion:
    """A new version numbered after every earlier one (never reused).

    ``training_data`` is ``{uri, sha256, rows}`` of the rows it was fitted on.
    """
    version = ModelVersion(
        preset=preset,
        params=params,
        metrics=metrics,
        evaluation=evaluation,
        training_data=training_data,
        artifact_uri=artifact_uri,
        job_id=job_id,
        created_by=created_by,
    )
    return repository.add_version(session, version)


def get(session: Session, number: int) -> ModelVersion:
    # Past the column's range no version can exist (and the query itself would fail).
    version = repository.get_version(session, number) if 1 <= number <= MAX_INT_ID else None
    if version is None:
        raise NotFound(f"no model version {number}", code="model_not_found")
    return version


def list_versions(session: Session, limit: int, before: int | None) -> Sequence[ModelVersion]:
    """Newest first; ``before`` pages back (versions older than it)."""
    return repository.list_versions(session, limit, before)


def aliases_by_version(session: Session, versions: Sequence[int]) -> dict[int, list[str]]:
    """The alias names pointing at each of ``versions`` (sorted by name)."""
    return repository.aliases_by_version(session, versions)


def get_alias(session: Session, name: str, *, for_update: bool = False) -> ModelAlias | None:
    return repository.get_alias(session, name, for_update=for_update)


def all_aliases(session: Session) -> dict[str, int]:
    """Every alias and the version it points at."""
    return repository.all_aliases(session)


def resolve(session: Session, model: str | int | None) -> int:
    """The version number a number, a numeric string or an alias (default
    production) names, checked to exist, in one query that reads no JSON."""
    if model is None or model == "":
        model = PRODUCTION
    if isinstance(model, int) or (isinstance(model, str) and model.isdigit()):
        number = int(model)
        # Past the column's range no version can exist (and the query itself would fail).
        if not (1 <= number <= MAX_INT_ID and repository.version_exists(session, number)):
            raise NotFound(f"no model version {number}", code="model_not_found")
        return number
    # An alias's version exists (a foreign key), so no row means no alias.
    version = repository.alias_version(session, check_alias_name(model))
    if version is None:
        if model == PRODUCTION:
            if repository.list_versions(session, 1, None):
                raise Conflict(
                    "no model is in production: versions exist, but the 'production' alias "
                    "points at none of them; an admin moves it with PUT "
                    "/v1/models/aliases/production, or name a version in 'model'",
                    code="no_model",
                )
            raise Conflict("no model is in production yet: train one first", code="no_model")
        raise NotFound(f"no alias {model!r}", code="alias_not_found")
    return version


def alias_history(session: Session, limit: int = 200) -> Sequence[AliasEvent]:
    """The latest alias moves and deletions, newest first: who moved what, when."""
    return repository.recent_events(session, limit)


def move_alias(
    session: Session, name: str, version: int, *, actor_id: int | None, reason: str = ""
) -> int | None:
    """Point ``name`` at ``version``; returns the version it pointed at before."""
    check_alias_name(name)
    get(session, version)
    alias = repository.get_alias(session, name, for_update=True)
    previous = alias.version if alias else None
    if alias is None:
        repository.add_alias(session, ModelAlias(name=name, version=version, updated_by=actor_id))
    else:
        alias.version = version
        alias.updated_by = actor_id
        alias.updated_at = utcnow()
    repository.add_event(
        session,
        AliasEvent(
            alias=name, from_version=previous, to_version=version, actor_id=actor_id, reason=reason
        ),
    )
    return previous


def delete_alias(session: Session, name: str, *, actor_id: int | None) -> None:
    alias = repository.get_alias(session, check_alias_name(name), for_update=True)
    if alias is None:
        raise NotFound(f"no alias {name!r}", code="alias_not_found")
    repository.remove_alias(session, name)
    repository.add_event(
        session,
        AliasEvent(alias=name, from_version=alias.version, to_version=None, actor_id=actor_id),
    )
