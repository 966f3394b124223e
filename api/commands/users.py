"""``tasador users ...``: create accounts from the command line.

The first admin cannot be created through the API (creating users needs an
admin), so operators use ``tasador users create --role admin`` or let
``tasador users bootstrap-admin`` create it from the environment.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from api.config import get_settings
from api.db.session import session_scope
from api.errors import TasadorError
from api.users import service as users_service

app = typer.Typer(help="User accounts.", no_args_is_help=True)


def _fail(exc: TasadorError) -> typer.Exit:
    typer.echo(f"error: {exc.message}", err=True)
    return typer.Exit(code=1)


@app.command("create")
def create_command(
    username: Annotated[str, typer.Option("--username", help="Login name (3-64 characters).")],
    role: Annotated[str, typer.Option("--role", help="admin or member.")] = "member",
) -> None:
    """Create a user. The password comes from TASADOR_ADMIN_PASSWORD or a prompt."""
    secret = get_settings().admin_password
    password = (
        secret.get_secret_value()
        if secret is not None
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    try:
        with session_scope() as session:
            user = users_service.create_user(session, username, password, role)
            typer.echo(f"created user {user.username!r} (id {user.id}, role {user.role})")
    except TasadorError as exc:
        raise _fail(exc) from None


@app.command("set-password")
def set_password_command(
    username: Annotated[str, typer.Argument(help="The user whose password to set.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a user's password (for example a lost admin password) and sign them out.

    The password is asked for twice, or read from standard input with
    --password-stdin (its first line). Every refresh token of the user is
    revoked: their sessions end when their access tokens expire.
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        with session_scope() as session:
            user = users_service.set_password(session, username, password)
            typer.echo(f"password set for {user.username!r}; their other sessions are signed out")
    except TasadorError as exc:
        raise _fail(exc) from None


@app.command("bootstrap-admin")
def bootstrap_admin_command() -> None:
    """Create TASADOR_ADMIN_USERNAME with TASADOR_ADMIN_PASSWORD unless it exists.

    Safe to run on every start; an existing account is left as it is.
    """
    settings = get_settings()
    if settings.admin_password is None:
        typer.echo("TASADOR_ADMIN_PASSWORD is not set; no admin account was created")
        return
    try:
        with session_scope() as session:
            created = users_service.ensure_admin(
                session, settings.admin_username, settings.admin_password.get_secret_value()
            )
    except TasadorError as exc:
        raise _fail(exc) from None
    state = "created" if created else "already exists; left unchanged"
    typer.echo(f"admin {settings.admin_username!r} {state}")
