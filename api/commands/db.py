"""``tasador db ...``: the database schema, managed only through Alembic.

The service never creates tables itself; ``tasador db upgrade`` (or the
standalone runner calling :func:`upgrade`) is the one way the schema changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, make_url
from sqlalchemy.pool import NullPool

from api.config import get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


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


def _target(url: str | None) -> str:
    return make_url(url or get_settings().sqlalchemy_url).render_as_string(hide_password=True)


UrlOption = Annotated[
    str | None, typer.Option("--url", help="Database URL (default: TASADOR_DATABASE_URL).")
]


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    url: UrlOption = None,
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    upgrade(revision, url=url)
    typer.echo(f"{_target(url)} is at revision {current_revision(url)}")


@app.command("downgrade")
def downgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' drops everything).")],
    url: UrlOption = None,
) -> None:
    """Revert migrations down to REVISION."""
    downgrade(revision, url=url)
    typer.echo(f"{_target(url)} is at revision {current_revision(url) or 'base'}")


@app.command("current")
def current_command(url: UrlOption = None) -> None:
    """Show the revision the database is at."""
    typer.echo(current_revision(url) or "base (no migrations applied)")
