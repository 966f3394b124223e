"""``tasador users ...``: creating accounts from the command line (commits for real)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from api.auth.passwords import verify_password
from api.commands.users import app
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.refresh_token import RefreshToken
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


def test_set_password_replaces_a_lost_password_and_signs_the_user_out(
    committed_db: Engine,
) -> None:
    get_settings.cache_clear()
    old, new = "the forgotten password", "the brand new password"
    assert runner.invoke(app, ["create", "--username", "forgetful"], input=f"{old}\n{old}\n")
    with session_scope() as session:
        user = get_by_username(session, "forgetful")
        assert user is not None
        session.add(
            RefreshToken(
                user_id=user.id,
                family_id=uuid.uuid4(),
                token_hash=uuid.uuid4().hex,
                expires_at=utcnow() + timedelta(days=1),
            )
        )

    result = runner.invoke(app, ["set-password", "Forgetful", "--password-stdin"], input=f"{new}\n")
    assert result.exit_code == 0, result.output
    assert new not in result.output
    assert _stored_password_matches("forgetful", new)
    assert not _stored_password_matches("forgetful", old)
    with session_scope() as session:
        tokens = session.scalars(select(RefreshToken.revoked_at)).all()
        assert tokens and all(revoked is not None for revoked in tokens)

    weak = runner.invoke(app, ["set-password", "forgetful", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output
    unknown = runner.invoke(app, ["set-password", "nobody", "--password-stdin"], input=f"{new}\n")
    assert unknown.exit_code == 1
    assert "no user 'nobody'" in unknown.output
