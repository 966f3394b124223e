"""Alembic environment: the tables in api.db.tables, on Postgres or SQLite.

The URL comes from the settings (TASADOR_DATABASE_URL, or the SQLite file under
the data directory) unless the Alembic config names one. Callers that already
hold a connection (tests, the standalone runner) pass it as
``config.attributes["connection"]``.
"""

from __future__ import annotations

import importlib
import pkgutil
from logging.config import fileConfig
from pathlib import Path

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

import api.db.tables
from api.config import get_settings
from api.db.base import Base, UTCDateTime

# Every module in api/db/tables is a table. Import them all, listed in the
# package or not: autogenerate would otherwise propose dropping a forgotten one.
for _module in pkgutil.iter_modules(api.db.tables.__path__):
    importlib.import_module(f"api.db.tables.{_module.name}")

config = context.config
target_metadata = Base.metadata

# Only the alembic command line configures logging from the ini file; a caller
# inside the service keeps the service's own logging.
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url


def _render_item(kind: str, obj: object, autogen_context: AutogenContext) -> str | bool:
    # Revisions must not import application code (it changes; they must not), so
    # UTCDateTime is written as the plain column type it stores.
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kw: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=_render_item,
        **kw,  # type: ignore[arg-type]
    )


def _run_with(connection: Connection) -> None:
    # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    url = _url()
    _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run_with(given)
        return
    url = _url()
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # No foreign-key pragma here: with it, SQLite batch mode's table rebuild would
    # cascade deletes into child tables.
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
