"""Issue 12, items 6 and 7: the login throttle cannot be raced, nor used to lock the admin out.

Item 7's attack was 15 parallel wrong guesses, all checked against a limit of
5; it is replayed against real API processes (Postgres, and SQLite as in the
standalone mode). Item 6's was five wrong passwords from anywhere locking the
admin out for everyone; it is replayed in-process from two client addresses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.auth import throttle
from api.config import get_settings
from api.db.base import utcnow
from api.db.engine import build_engine
from api.db.migrate import upgrade
from api.db.session import session_scope
from api.db.tables.login_attempt import LoginAttempt
from api.users.service import create_user
from tests.fixtures.db import TEST_PASSWORD, MakeUser, hashed_test_password
from tests.security.conftest import LiveApi
from tests.security.server import start_api, stop_api

ATTACKER, CLEAN = "203.0.113.66", "198.51.100.7"
BURST = 15


def _member(session: Session, username: str) -> None:
    create_user(session, username, TEST_PASSWORD, "member", password_hash=hashed_test_password())


def _log_in(url: str, username: str, password: str, address: str) -> int:
    response = httpx.post(
        f"{url}/v1/auth/token",
        data={"username": username, "password": password},
        headers={"X-Forwarded-For": address},  # trusted from 127.0.0.1, as behind a proxy
        timeout=60,
    )
    return response.status_code


def _burst(url: str, username: str) -> list[int]:
    with ThreadPoolExecutor(BURST) as pool:
        futures = [
            pool.submit(_log_in, url, username, "wrong password!!", ATTACKER) for _ in range(BURST)
        ]
        return sorted(f.result() for f in futures)


def _attempts(engine: Engine, username: str, address: str) -> int:
    stmt = select(func.count()).where(
        LoginAttempt.username == username, LoginAttempt.client_address == address
    )
    with engine.connect() as connection:
        return connection.scalar(stmt) or 0


def _assert_burst_counted_like_a_serial_one(url: str, engine: Engine, username: str) -> None:
    limit = get_settings().login_max_failures_per_user
    statuses = _burst(url, username)
    assert statuses.count(401) == limit, statuses  # checked: exactly the limit
    assert statuses.count(429) == BURST - limit, statuses
    assert _attempts(engine, username, ATTACKER) == limit  # refused attempts leave no trace
    # The pair stays locked, even for the right password ...
    assert _log_in(url, username, TEST_PASSWORD, ATTACKER) == 429
    # ... while the owner, from another address, gets in.
    assert _log_in(url, username, TEST_PASSWORD, CLEAN) == 200
    assert _attempts(engine, username, ATTACKER) == limit


def test_parallel_burst_is_counted_like_a_serial_one_on_postgres(
    live_api: LiveApi, committed_db: Engine
) -> None:
    with session_scope() as session:
        create_user(
            session, "burst-pg", TEST_PASSWORD, "member", password_hash=hashed_test_password()
        )
    _assert_burst_counted_like_a_serial_one(live_api.url, committed_db, "burst-pg")


@pytest.fixture
def sqlite_api(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    """An API process on a fresh SQLite file, as ``tasador standalone`` runs it."""
    url = f"sqlite:///{tmp_path / 'standalone.db'}"
    upgrade("head", url=url)
    engine = build_engine(url)
    with Session(engine) as session:
        create_user(
            session, "burst-sqlite", TEST_PASSWORD, "member", password_hash=hashed_test_password()
        )
        session.commit()
    api = start_api({"TASADOR_DATABASE_URL": url, "TASADOR_DATA_DIR": str(tmp_path)})
    try:
        yield api.url, engine
    finally:
        stop_api(api)
        engine.dispose()


def test_parallel_burst_is_counted_like_a_serial_one_on_sqlite(
    sqlite_api: tuple[str, Engine],
) -> None:
    url, engine = sqlite_api
    _assert_burst_counted_like_a_serial_one(url, engine, "burst-sqlite")


# ------------------------------------------------------------------ lockout (item 6)


@pytest.fixture
def at(client: TestClient) -> Callable[[str], TestClient]:
    """A client of the same app calling from ``address``."""
    return lambda address: TestClient(client.app, client=(address, 50000))


def _timed_login(client: TestClient, username: str, password: str) -> tuple[int, float]:
    started = time.monotonic()
    response = client.post("/v1/auth/token", data={"username": username, "password": password})
    return response.status_code, time.monotonic() - started


def _failures_elsewhere(session: Session, username: str, count: int) -> None:
    for n in range(count):
        session.add(
            LoginAttempt(
                username=username,
                client_address=f"192.0.2.{n + 1}",
                attempted_at=utcnow() - timedelta(minutes=1),
            )
        )
    session.commit()


def test_lockout_from_another_address_never_refuses_the_right_password_from_a_clean_address(
    at: Callable[[str], TestClient], make_user: MakeUser, db_session: Session
) -> None:
    admin, password = make_user(role="admin")
    attacker, owner = at(ATTACKER), at(CLEAN)
    for _ in range(5):
        assert _timed_login(attacker, admin.username, "wrong password!!")[0] == 401
    assert _timed_login(attacker, admin.username, password)[0] == 429  # the attacker's pair

    status, seconds = _timed_login(owner, admin.username, password)
    assert status == 200
    assert seconds >= throttle.FIRST_DELAY_SECONDS  # slowed by the failures elsewhere
    # The owner's success erases nothing of the attacker's record: still locked.
    assert _timed_login(attacker, admin.username, password)[0] == 429
    stmt = select(func.count()).where(LoginAttempt.client_address == ATTACKER)
    assert db_session.scalar(stmt) == 5


@pytest.mark.parametrize(("elsewhere", "delay"), [(5, 0.25), (7, 1.0)])
def test_failures_from_other_addresses_slow_the_username_down_more_with_each_one(
    at: Callable[[str], TestClient],
    make_user: MakeUser,
    db_session: Session,
    elsewhere: int,
    delay: float,
) -> None:
    user, password = make_user()
    _failures_elsewhere(db_session, user.username, elsewhere)
    status, seconds = _timed_login(at(CLEAN), user.username, password)
    assert status == 200
    assert seconds >= delay


@pytest.fixture
def short_delay_cap(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    monkeypatch.setenv("TASADOR_LOGIN_MAX_DELAY_SECONDS", "1.5")
    get_settings.cache_clear()
    yield 1.5
    monkeypatch.undo()
    get_settings.cache_clear()


def test_the_slowdown_is_capped_and_the_right_password_still_works(
    at: Callable[[str], TestClient],
    make_user: MakeUser,
    db_session: Session,
    short_delay_cap: float,
) -> None:
    user, password = make_user(role="admin")
    _failures_elsewhere(db_session, user.username, 60)
    status, seconds = _timed_login(at(CLEAN), user.username, password)
    assert status == 200
    assert short_delay_cap <= seconds < short_delay_cap + 2.0


def test_the_delay_doubles_per_failure_past_the_limit_up_to_the_cap() -> None:
    delays = [throttle.slowdown(n, free=5, cap=5.0) for n in range(12)]
    assert delays[:5] == [0.0] * 5
    assert delays[5:10] == [0.25, 0.5, 1.0, 2.0, 4.0]
    assert delays[10:] == [5.0, 5.0]
