"""A revoked key, a disabled user or a changed role is refused by every API process within 1 s.

Each process answers known credentials from its own short-lived cache, so these
tests run two real uvicorn processes on the test database: the change is made
through one process (or straight in the database, as an operator would) and
the other is polled until it refuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, update

from api.auth.tokens import issue_access_token
from api.db.session import session_scope
from api.db.tables.user import User
from api.users.service import create_user
from tests.fixtures.db import TEST_PASSWORD, hashed_test_password
from tests.fixtures.server import api_processes

DEADLINE_SECONDS = 1.0
pytestmark = pytest.mark.slow


@pytest.fixture
def two_api_processes(committed_db: Engine) -> Iterator[list[str]]:
    with api_processes(2) as urls:
        yield urls


def _committed_user(username: str, role: str) -> tuple[int, dict[str, str]]:
    with session_scope() as session:
        user = create_user(
            session, username, TEST_PASSWORD, role, password_hash=hashed_test_password()
        )
        bearer = {"Authorization": f"Bearer {issue_access_token(user.id, user.role).token}"}
        return user.id, bearer


def _change_user(user_id: int, **values: object) -> None:
    """What an operator does in the database: no API process is told."""
    with session_scope() as session:
        session.execute(update(User).where(User.id == user_id).values(**values))


Probe = Callable[[], int]


def _get(url: str, path: str, headers: dict[str, str]) -> Probe:
    def status() -> int:
        return httpx.get(f"{url}{path}", headers=headers, timeout=10).status_code

    return status


def _warm(probes: list[Probe], expected: int) -> None:
    """Every process has the credential in its cache, as a busy client would."""
    for _ in range(3):
        for probe in probes:
            assert probe() == expected


def _seconds_until(refused: int, probes: list[Probe], since: float) -> float:
    """Poll until every probe answers ``refused``; the time from ``since`` until then."""
    pending = list(probes)
    while pending and time.monotonic() - since < 5:
        pending = [probe for probe in pending if probe() != refused]
        if pending:
            time.sleep(0.02)
    elapsed = time.monotonic() - since
    assert not pending, "still accepted 5 s after the change"
    for probe in probes:  # and it stays refused
        assert probe() == refused
    return elapsed


def test_a_key_revoked_through_one_process_is_refused_by_the_other_within_a_second(
    two_api_processes: list[str],
) -> None:
    first, second = two_api_processes
    _, bearer = _committed_user("revoker", "member")
    created = httpx.post(
        f"{first}/v1/api-keys", json={"name": "ci", "expires_in_days": 1}, headers=bearer
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    probes = [_get(second, "/v1/users/me", key), _get(first, "/v1/users/me", key)]
    _warm(probes, 200)

    revoked = httpx.delete(f"{first}/v1/api-keys/{created.json()['id']}", headers=bearer)
    assert revoked.status_code == 204
    elapsed = _seconds_until(401, probes, time.monotonic())

    assert elapsed < DEADLINE_SECONDS, f"the revoked key kept working for {elapsed:.2f} s"


def test_a_disabled_user_is_refused_by_every_process_within_a_second(
    two_api_processes: list[str],
) -> None:
    user_id, bearer = _committed_user("leaver", "member")
    created = httpx.post(
        f"{two_api_processes[0]}/v1/api-keys",
        json={"name": "ci", "expires_in_days": 1},
        headers=bearer,
    )
    key = {"X-API-Key": created.json()["key"]}
    probes = [
        _get(url, "/v1/users/me", credential)
        for url in two_api_processes
        for credential in (bearer, key)
    ]
    _warm(probes, 200)

    _change_user(user_id, is_active=False)
    elapsed = _seconds_until(401, probes, time.monotonic())

    assert elapsed < DEADLINE_SECONDS, f"the disabled user kept working for {elapsed:.2f} s"


def test_a_demoted_admin_loses_admin_calls_on_every_process_within_a_second(
    two_api_processes: list[str],
) -> None:
    user_id, bearer = _committed_user("demoted", "admin")
    probes = [_get(url, "/v1/predictions/log?limit=1", bearer) for url in two_api_processes]
    _warm(probes, 200)

    _change_user(user_id, role="member")
    elapsed = _seconds_until(403, probes, time.monotonic())

    assert elapsed < DEADLINE_SECONDS, f"the demoted admin kept admin rights for {elapsed:.2f} s"
