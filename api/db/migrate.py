"""Moving the database schema: the one way it changes is through Alembic.

The service never creates tables itself. ``tasador db upgrade``, the standalone
runner and the tests all call :func:`upgrade`.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine
from sqlalchemy.pool import NullPool

from api.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic config for this project that needs no ``alembic.ini``.

    With ``connection``, migrations run on it (inside the caller's transaction
    handling); otherwise on ``url``, or the configured database.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        # configparser treats "%" as interpolation; URL-encoded passwords contain it.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(
    revision: str = "head", *, url: str | None = None, connection: Connection | None = None
) -> None:
    command.upgrade(alembic_config(url, connection), revision)


def downgrade(
    revision: str, *, url: str | None = None, connection: Connection | None = None
) -> None:
    command.downgrade(alembic_config(url, connection), revision)


def current_revision(url: str | None = None) -> str | None:
    engine = create_engine(url or get_settings().sqlalchemy_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
