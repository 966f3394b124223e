"""Login throttling: per username and per address, with Retry-After, reset on success."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import throttle
from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.login_attempt import LoginAttempt
from tests.auth.conftest import log_in
from tests.fixtures.db import MakeUser

TESTCLIENT_ADDRESS = "testclient"  # what starlette's TestClient reports as the peer


def _failures(session: Session, *, username: str, ago: timedelta, count: int) -> None:
    for _ in range(count):
        session.add(
            LoginAttempt(
                username=username,
                client_address=TESTCLIENT_ADDRESS,
                attempted_at=utcnow() - ago,
            )
        )
    session.flush()


def _count(session: Session, username: str) -> int:
    stmt = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == username)
    return session.scalar(stmt) or 0


def test_fifth_failure_locks_the_username_with_retry_after(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    for _ in range(5):
        assert log_in(client, user.username, "wrong password!").status_code == 401
    # Even the right password is refused now: otherwise guessing could go on.
    locked = log_in(client, user.username, password)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    retry_after = int(locked.headers["Retry-After"])
    assert 0 < retry_after <= 15 * 60
    assert str(retry_after) in locked.json()["error"]["message"]


def test_successful_login_resets_the_username_counter(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, password = make_user()
    _failures(db_session, username=user.username, ago=timedelta(minutes=1), count=4)
    assert log_in(client, user.username, password).status_code == 200
    assert _count(db_session, user.username) == 0
    _failures(db_session, username=user.username, ago=timedelta(minutes=1), count=3)
    # 3 stored + this one = 4 failures since the reset: still under the limit of 5.
    assert log_in(client, user.username, "wrong password!").status_code == 401
    assert log_in(client, user.username, password).status_code == 200


def test_failures_older_than_the_window_do_not_count(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, password = make_user()
    _failures(db_session, username=user.username, ago=timedelta(minutes=16), count=5)
    assert log_in(client, user.username, password).status_code == 200


def test_twenty_failures_from_one_address_lock_that_address_for_every_username(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, password = make_user()
    for n in range(20):
        _failures(db_session, username=f"guess_{n}", ago=timedelta(minutes=2), count=1)
    locked = log_in(client, user.username, password)
    assert locked.status_code == 429
    # The oldest of the 20 leaves the 15-minute window about 13 minutes from now.
    assert 12 * 60 <= int(locked.headers["Retry-After"]) <= 13 * 60


@pytest.fixture
def strict_throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TASADOR_LOGIN_MAX_FAILURES_PER_USER", "2")
    monkeypatch.setenv("TASADOR_LOGIN_WINDOW_MINUTES", "1")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_limits_and_window_follow_the_settings(
    client: TestClient, make_user: MakeUser, db_session: Session, strict_throttle: None
) -> None:
    user, password = make_user()
    _failures(db_session, username=user.username, ago=timedelta(seconds=30), count=2)
    locked = log_in(client, user.username, password)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) <= 30


def test_retry_after_is_when_the_limit_th_newest_failure_leaves_the_window() -> None:
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    window = timedelta(minutes=15)
    newest_first = [now - timedelta(minutes=m) for m in (1, 2, 3, 4, 5, 6)]
    # With a limit of 5, the 5th newest (5 min ago) leaves in 10 minutes.
    assert throttle._retry_after(newest_first, 5, window, now) == 10 * 60
    assert throttle._retry_after(newest_first[:4], 5, window, now) == 0
