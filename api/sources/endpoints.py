"""Data-source routes: register the client's databases, list them, check them, remove them."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.auth.dependencies import AdminUser, CurrentUser
from api.dependencies import DbSession
from api.error_docs import errors
from api.sources import service
from api.sources.schemas import DataSourceIn, DataSourceOut, SourceCheckOut

router = APIRouter(prefix="/v1/data-sources", tags=["data sources"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DataSourceOut,
    responses=errors(409, s409="`name_taken`"),
)
def register_source(session: DbSession, user: AdminUser, body: DataSourceIn) -> DataSourceOut:
    """Register a database (admins). `url` is a SQLAlchemy URL (Postgres through
    `postgresql+psycopg`, or SQLite). The password is sealed at rest and never
    shown again. A driver that is not installed answers `422 driver_not_installed`
    naming the package; an existing name answers `409 name_taken`. Nothing is
    connected here: `POST /v1/data-sources/{name}/check` does that."""
    return service.seen_by(service.register(session, user, body), user)


@router.get("", response_model=list[DataSourceOut])
def list_sources(session: DbSession, user: CurrentUser) -> list[DataSourceOut]:
    """Registered sources. Admins also see each URL, with its password masked."""
    return [service.seen_by(source, user) for source in service.list_all(session)]


@router.get("/{name}", response_model=DataSourceOut)
def get_source(session: DbSession, user: CurrentUser, name: str) -> DataSourceOut:
    """One registered source."""
    return service.seen_by(service.get(session, name), user)


@router.post("/{name}/check", response_model=SourceCheckOut)
def check_source(session: DbSession, user: AdminUser, name: str) -> SourceCheckOut:
    """Connect to the source and list the tables it can see (admins), or answer
    `422 source_unreachable` with the driver's reason."""
    return service.check(session, name)


@router.delete(
    "/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(409, s409="`source_in_use`")
)
def delete_source(session: DbSession, user: AdminUser, name: str) -> Response:
    """Remove a source (admins). `409 source_in_use` while a queued or running job uses it."""
    service.delete(session, name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
