"""Business rules for data sources: register, show, check, remove; the target a job
uses. Never commits.

The URL is stored without its password; the password is sealed apart and only
unsealed to connect. Members see a source's name, dialect, host and database;
admins also see the URL with the password masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import URL
from sqlalchemy.orm import Session

from api.auth.identity import Account
from api.db.tables.data_source import DataSource
from api.errors import Conflict, InvalidInput, NotFound
from api.sources import repository, rows, sealing, writing
from api.sources.catalogue import table_names
from api.sources.connection import Target, connect, masked, parse_url, read_only
from api.sources.schemas import (
    DataSourceIn,
    DataSourceOut,
    SourceCheckOut,
    SourceInput,
    SourceOutput,
)


def register(session: Session, admin: Account, body: DataSourceIn) -> DataSource:
    url = parse_url(body.url)
    if repository.get(session, body.name) is not None:
        raise Conflict(f"a source named {body.name} exists already", code="name_taken")
    password = url.password
    source = DataSource(
        name=body.name,
        url=without_password(url).render_as_string(hide_password=False),
        sealed_password=sealing.seal(str(password)) if password is not None else None,
        writable=body.writable,
        description=body.description,
        created_by=admin.id,
    )
    return repository.add(session, source)


def without_password(url: URL) -> URL:
    # ``URL.set`` ignores ``None``: build the URL again without its password.
    return URL.create(
        url.drivername, url.username, None, url.host, url.port, url.database, url.query
    )


def get(session: Session, name: str) -> DataSource:
    source = repository.get(session, name)
    if source is None:
        raise NotFound(f"no data source named {name}", code="source_not_found")
    return source


def list_all(session: Session) -> list[DataSource]:
    return list(repository.all_sources(session))


def target_of(source: DataSource) -> Target:
    url = parse_url(source.url)
    if source.sealed_password is not None:
        url = url.set(password=sealing.unseal(source.sealed_password, source.name))
    return Target(source.name, url, source.writable)


def target(session: Session, name: str) -> Target:
    return target_of(get(session, name))


def seen_by(source: DataSource, viewer: Account) -> DataSourceOut:
    url = parse_url(source.url)
    if source.sealed_password is not None:
        url = url.set(password="***")  # noqa: S106 (a mask, not a password)
    return DataSourceOut(
        name=source.name,
        dialect=url.get_backend_name(),
        host=url.host,
        database=url.database,
        writable=source.writable,
        description=source.description,
        created_at=source.created_at,
        url=masked(url) if viewer.is_admin else None,
    )


def check(session: Session, name: str) -> SourceCheckOut:
    """Connect and list the tables; 422 ``source_unreachable`` with the reason if not."""
    source = target(session, name)
    with read_only(source) as connection:
        return SourceCheckOut(ok=True, name=name, tables=table_names(connection))


def uses(request: Mapping[str, Any], name: str) -> bool:
    return any(
        isinstance(value, Mapping) and value.get("source") == name for value in request.values()
    )


def delete(session: Session, name: str) -> None:
    """Remove a source; 409 ``source_in_use`` while a queued or running job names it."""
    get(session, name)
    using = [str(job.id) for job in repository.active_jobs(session) if uses(job.request, name)]
    if using:
        raise Conflict(
            f"source {name} is used by {len(using)} queued or running job(s); "
            "cancel them or wait until they end",
            code="source_in_use",
            details={"jobs": using[:20]},
        )
    repository.remove(session, name)


def check_job_input(
    session: Session, spec: SourceInput, field: str, *, require_target: bool
) -> dict[str, Any]:
    """What a job's submit checks of a source input: the source exists, its table
    and columns are in the catalogue (or the query runs); the input's record."""
    source = target(session, spec.source)
    try:
        rows.check_input(source, spec, require_target=require_target)
    except InvalidInput as exc:
        raise InvalidInput(f"{field}: {exc.message}", code=exc.code, details=exc.details) from None
    return {"source": spec.source, "table": spec.table} if spec.table else {"source": spec.source}


def check_job_output(session: Session, output: SourceOutput) -> None:
    """A table output: the source is writable and neither table exists yet (409)."""
    source = target(session, output.source)
    if not source.writable:
        raise InvalidInput(
            f"output_data: source {source.name} is read-only; an admin registers it "
            "with writable: true to let jobs create tables in it",
            code="source_read_only",
        )
    with connect(source) as connection:
        writing.check_new_table(connection, source, output.table)
