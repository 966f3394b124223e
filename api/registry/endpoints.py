"""Model registry routes: list versions, read one, move and delete aliases."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from api.auth.dependencies import AdminUser, CurrentUser
from api.constraints import AliasName
from api.db.base import MAX_INT_ID
from api.db.tables.model_version import ModelVersion
from api.dependencies import DbSession
from api.ownership import Principal, visible_uri
from api.registry import service
from api.registry.schemas import AliasIn, AliasOut, ModelVersionOut, TrainingDataOut

router = APIRouter(prefix="/v1/models", tags=["models"])


def _out(
    session: DbSession, versions: Sequence[ModelVersion], viewer: Principal
) -> list[ModelVersionOut]:
    """Versions as ``viewer`` may see them: locations they may not read are ``null``
    (for a member: every artifact, and training data that is not theirs)."""
    aliases = service.aliases_by_version(session, [v.version for v in versions])
    return [
        ModelVersionOut(
            version=v.version,
            created_at=v.created_at,
            preset=v.preset,
            params=v.params,
            metrics=v.metrics,
            evaluation=v.evaluation,
            training_data=TrainingDataOut(
                uri=visible_uri(viewer, v.training_data.get("uri")),
                sha256=v.training_data["sha256"],
                rows=v.training_data["rows"],
            ),
            artifact_uri=visible_uri(viewer, v.artifact_uri),
            aliases=aliases.get(v.version, []),
            job_id=v.job_id,
        )
        for v in versions
    ]


@router.get("", response_model=list[ModelVersionOut])
def list_models(
    session: DbSession,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_INT_ID, description="versions older than this")
    ] = None,
) -> list[ModelVersionOut]:
    """Model versions, newest first, with their metrics, training data and aliases.
    Models are shared by every user; a member sees `training_data.uri` only for
    data they may read and no `artifact_uri`."""
    versions = service.list_versions(session, limit, before)
    return _out(session, versions, Principal.of(user))


@router.get("/{version}", response_model=ModelVersionOut)
def get_model(
    session: DbSession, user: CurrentUser, version: Annotated[int, Path(ge=1, le=MAX_INT_ID)]
) -> ModelVersionOut:
    """One model version (locations shown as in the list)."""
    return _out(session, [service.get(session, version)], Principal.of(user))[0]


@router.put("/aliases/{alias}", response_model=AliasOut)
def put_alias(session: DbSession, admin: AdminUser, alias: AliasName, body: AliasIn) -> AliasOut:
    """Point an alias (`production`, `staging`, any `[a-z0-9-]{1,32}`) at a version.
    Admins only. Serving follows within a second. Every move is recorded."""
    previous = service.move_alias(session, alias, body.version, actor_id=admin.id, reason="api")
    return AliasOut(alias=alias, version=body.version, previous_version=previous)


@router.delete("/aliases/{alias}", status_code=status.HTTP_204_NO_CONTENT)
def delete_alias(session: DbSession, admin: AdminUser, alias: AliasName) -> Response:
    """Remove an alias. Admins only."""
    service.delete_alias(session, alias, actor_id=admin.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
