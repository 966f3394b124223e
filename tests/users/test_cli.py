"""``tasador users ...``: creating accounts from the command line (commits for real)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from api.auth.passwords import verify_password
from api.commands.users import app
from api.config import get_settings
from api.db.session import session_scope
from api.users.repository import get_by_username

runner = CliRunner()


@pytest.fixture
def admin_password(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    password = "bootstrap admin password"
    monkeypatch.setenv("TASADOR_ADMIN_PASSWORD", password)
    monkeypatch.setenv("TASADOR_ADMIN_USERNAME", "chief")
    get_settings.cache_clear()
    yield password
    monkeypatch.undo()
    get_settings.cache_clear()


def _stored_password_matches(username: str, password: str) -> bool:
    with session_scope() as session:
        user = get_by_username(session, username)
        return user is not None and verify_password(password, user.password_hash)[0]


def test_create_takes_the_password_from_the_environment(
    committed_db: Engine, admin_password: str
) -> None:
    result = runner.invoke(app, ["create", "--username", "Boss", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert "created user 'boss'" in result.output and "role admin" in result.output
    assert _stored_password_matches("boss", admin_password)

    again = runner.invoke(app, ["create", "--username", "boss", "--role", "admin"])
    assert again.exit_code == 1
    assert "'boss' is already taken" in again.output


def test_create_prompts_for_the_password_when_none_is_set(committed_db: Engine) -> None:
    get_settings.cache_clear()
    typed = "typed at the prompt"
    result = runner.invoke(app, ["create", "--username", "typist"], input=f"{typed}\n{typed}\n")
    assert result.exit_code == 0, result.output
    assert typed not in result.output
    assert _stored_password_matches("typist", typed)


def test_create_refuses_a_weak_password_saying_why(committed_db: Engine) -> None:
    result = runner.invoke(app, ["create", "--username", "weakling"], input="short\nshort\n")
    assert result.exit_code == 1
    assert "at least 12 characters" in result.output


def test_bootstrap_admin_is_idempotent(committed_db: Engine, admin_password: str) -> None:
    first = runner.invoke(app, ["bootstrap-admin"])
    second = runner.invoke(app, ["bootstrap-admin"])
    assert first.exit_code == second.exit_code == 0
    assert "created" in first.output
    assert "already exists" in second.output
    assert _stored_password_matches("chief", admin_password)
