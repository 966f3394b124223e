"""``tasador db ...``: the database schema, managed only through Alembic (``api.db.migrate``)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import make_url

from api.config import get_settings
from api.db.migrate import current_revision, downgrade, upgrade

app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


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
