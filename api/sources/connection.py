"""Connecting to a client database: which URLs are accepted, and how a read is fenced.

Every connection is short-lived (no pool: a job or a check opens one and closes
it), times out connecting after ``TASADOR_SOURCE_CONNECT_TIMEOUT_SECONDS``, and
reads run in a read-only transaction with a statement timeout of
``TASADOR_SOURCE_STATEMENT_TIMEOUT_SECONDS`` (Postgres; SQLite has no statement
timeout and is opened with ``query_only``). Error messages carry the driver's
reason and never the URL, so a password cannot leak through them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from api.config import get_settings
from api.errors import InvalidInput

SUPPORTED_DIALECTS = ("postgresql", "sqlite")


@dataclass(frozen=True)
class Target:
    """A database a job may use: its name, full URL (password included) and whether
    outputs may be written to it."""

    name: str
    url: URL
    writable: bool

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()


def parse_url(raw: str) -> URL:
    """A SQLAlchemy URL of a supported dialect whose driver is installed, else 422."""
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput(
            "url is not a SQLAlchemy database URL (dialect+driver://user:password@host/db)",
            code="invalid_source_url",
        ) from exc
    try:
        dialect = url.get_dialect()
        dialect.import_dbapi()
    except NoSuchModuleError as exc:
        raise InvalidInput(
            f"url: unknown database dialect {url.drivername!r}", code="invalid_source_url"
        ) from exc
    except ImportError as exc:
        package = exc.name or url.get_driver_name()
        raise InvalidInput(
            f"url: the driver {url.drivername!r} needs the Python package {package!r}, "
            "which is not installed on this server",
            code="driver_not_installed",
            details={"package": package},
        ) from exc
    if url.get_backend_name() not in SUPPORTED_DIALECTS:
        raise InvalidInput(
            f"url: {url.get_backend_name()} databases are not supported; "
            f"use one of {', '.join(SUPPORTED_DIALECTS)}",
            code="invalid_source_url",
        )
    if any(key.lower() in _SECRET_QUERY_KEYS for key in url.query):
        raise InvalidInput(
            "url: give the password in the URL's user part (user:password@host), where it is "
            "sealed at rest and masked; not as a query parameter",
            code="invalid_source_url",
        )
    if url.get_backend_name() == "sqlite":
        _check_sqlite(url)
    if _is_service_database(url):
        raise InvalidInput(
            "url: this is Tasador's own database; register the client's databases only",
            code="invalid_source_url",
        )
    return url


_SECRET_QUERY_KEYS = frozenset({"password", "passwd", "pwd", "passfile", "sslpassword"})


def _check_sqlite(url: URL) -> None:
    """A SQLite source is an existing file named by an absolute path, and nothing else:
    no user, host or options (they would change how the file is opened)."""
    path = url.database or ""
    if url.username or url.password or url.host or url.query:
        raise InvalidInput(
            "url: a SQLite source is sqlite:////absolute/path/to/file.db, without user, "
            "password, host or options",
            code="invalid_source_url",
        )
    if not path.startswith("/") or any(c in path for c in "?%#"):
        raise InvalidInput(
            "url: a SQLite source names a file by its absolute path (sqlite:////path/to/file.db)",
            code="invalid_source_url",
        )


def _is_service_database(url: URL) -> bool:
    own = make_url(get_settings().sqlalchemy_url)
    if own.get_backend_name() != url.get_backend_name():
        return False
    if url.get_backend_name() == "sqlite":
        return os.path.realpath(own.database or "") == os.path.realpath(url.database or "")
    same_host = (url.host or "localhost") in _aliases(own.host or "localhost")
    return same_host and (url.port or 5432) == (own.port or 5432) and url.database == own.database


def _aliases(host: str) -> set[str]:
    local = {"localhost", "127.0.0.1", "::1", ""}
    return local if host in local else {host}


def masked(url: URL) -> str:
    """The URL as admins see it: the password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def build_engine(target: Target, *, reading: bool = False) -> Engine:
    """An engine without a pool; for reading SQLite, one that opens the file read-only
    (a missing file is then an error, never an empty database created on the server)."""
    settings = get_settings()
    connect_args: dict[str, Any] = {}
    url = target.url
    if target.dialect == "postgresql":
        connect_args["connect_timeout"] = settings.source_connect_timeout_seconds
    else:
        connect_args["timeout"] = settings.source_connect_timeout_seconds
        if reading:
            url = url.set(database=f"file:{url.database}?mode=ro", query={"uri": "true"})
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args)
    if target.dialect == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _sqlite_transactions(engine: Engine) -> None:
    """Real transactions on SQLite, DDL included (the driver's own skip DDL), so a
    staging table becomes its final name in one transaction."""

    @event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def unreachable(target: Target, exc: SQLAlchemyError) -> InvalidInput:
    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
    return InvalidInput(
        f"source {target.name}: cannot connect: {reason[0] if reason else type(exc).__name__}",
        code="source_unreachable",
    )


@contextmanager
def connect(target: Target, *, reading: bool = False) -> Iterator[Connection]:
    """A connection in a transaction (committed on success), ``source_unreachable`` if none."""
    engine = build_engine(target, reading=reading)
    try:
        try:
            connection = engine.connect()
        except SQLAlchemyError as exc:
            raise unreachable(target, exc) from None
        with connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


@contextmanager
def read_only(target: Target) -> Iterator[Connection]:
    """A connection in a read-only transaction with the statement timeout set."""
    with connect(target, reading=True) as connection:
        if target.dialect == "postgresql":
            timeout_ms = int(get_settings().source_statement_timeout_seconds * 1000)
            connection.execute(text("SET TRANSACTION READ ONLY"))
            connection.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        else:
            connection.exec_driver_sql("PRAGMA query_only = ON")
        yield connection


def query_failed(target: Target, exc: SQLAlchemyError) -> InvalidInput:
    reason = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip().splitlines()
    return InvalidInput(
        f"source {target.name}: the query failed: {reason[0] if reason else type(exc).__name__}",
        code="source_query_failed",
    )
