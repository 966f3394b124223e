"""The per-process credential cache: one lookup per key per lifetime, never stale past it."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.auth.cache import DEFAULT_TTL_SECONDS, CredentialCache, VerifiedTokens
from api.auth.errors import InvalidToken, TokenExpired
from api.auth.tokens import issue_access_token
from api.config import get_settings
from api.users.service import set_password
from tests.fixtures.db import MakeUser


def test_concurrent_misses_for_one_key_share_one_lookup() -> None:
    cache: CredentialCache[str] = CredentialCache(ttl=5)
    loads: list[int] = []
    release = threading.Event()

    def load() -> str:
        loads.append(1)
        release.wait(5)
        return "alice"

    async def scenario() -> list[str]:
        waiting = [asyncio.ensure_future(cache.get("key", load)) for _ in range(10)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(*waiting)

    assert asyncio.run(scenario()) == ["alice"] * 10
    assert len(loads) == 1


def test_an_entry_is_looked_up_again_once_its_lifetime_has_passed() -> None:
    cache: CredentialCache[int] = CredentialCache(ttl=0.2)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    async def scenario() -> list[int]:
        first = await cache.get("key", load)
        cached = await cache.get("key", load)
        await asyncio.sleep(0.25)
        return [first, cached, await cache.get("key", load)]

    assert asyncio.run(scenario()) == [1, 1, 2]


def test_the_lifetime_counts_from_the_start_of_the_lookup() -> None:
    # A slow lookup may have read the database before a change committed; its
    # answer must not be kept for a whole lifetime after it returned.
    cache: CredentialCache[str] = CredentialCache(ttl=0.3)

    def slow() -> str:
        time.sleep(0.2)
        return "before the change"

    async def scenario() -> str:
        await cache.get("key", slow)
        await asyncio.sleep(0.15)  # 0.35 s after the lookup started
        return await cache.get("key", lambda: "after the change")

    assert asyncio.run(scenario()) == "after the change"


def test_a_refusal_is_not_cached_and_reaches_every_waiter() -> None:
    cache: CredentialCache[str] = CredentialCache(ttl=5)
    calls: list[int] = []

    def refuse() -> str:
        calls.append(1)
        time.sleep(0.05)
        raise InvalidToken("the API key was revoked")

    async def scenario() -> list[BaseException | str]:
        answers = await asyncio.gather(
            *(cache.get("key", refuse) for _ in range(5)), return_exceptions=True
        )
        again = await asyncio.gather(cache.get("key", refuse), return_exceptions=True)
        return [*answers, *again]

    answers = asyncio.run(scenario())
    assert all(isinstance(a, InvalidToken) for a in answers)
    assert len(calls) == 2  # one shared lookup, then a fresh one: nothing was cached


def test_a_remembered_access_token_still_expires() -> None:
    lifetime = timedelta(minutes=get_settings().access_token_minutes)
    almost_expired = issue_access_token(
        7, "member", now=datetime.now(UTC) - lifetime + timedelta(seconds=1.5)
    ).token
    tokens = VerifiedTokens()
    assert tokens.subject(almost_expired)[0] == 7
    time.sleep(2.1)
    with pytest.raises(TokenExpired):
        tokens.subject(almost_expired)


def test_a_known_caller_costs_no_database_session(client: TestClient, make_user: MakeUser) -> None:
    opened: list[int] = []
    opener = client.app.state.session_opener  # type: ignore[attr-defined]

    def counting() -> AbstractContextManager[Session]:
        opened.append(1)
        return opener()  # type: ignore[no-any-return]

    client.app.state.session_opener = counting  # type: ignore[attr-defined]
    user = make_user()[0]
    token = {"Authorization": f"Bearer {issue_access_token(user.id, user.role).token}"}
    for _ in range(20):
        assert client.get("/v1/ping", headers=token).status_code == 200
    assert len(opened) == 1  # the first request looked the user up; the others did not


def test_setting_a_password_ends_the_access_tokens_issued_before_it(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, _ = make_user()
    old = {"Authorization": f"Bearer {issue_access_token(user.id, user.role).token}"}
    assert client.get("/v1/ping", headers=old).status_code == 200
    set_password(db_session, user.username, "a brand new passphrase")
    db_session.commit()
    time.sleep(DEFAULT_TTL_SECONDS + 0.1)  # the credential cache's entries live this long
    refused = client.get("/v1/ping", headers=old)  # issued in the same second, too
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"
    db_session.refresh(user)
    fresh = issue_access_token(user.id, user.role, generation=user.credentials_generation)
    assert client.get("/v1/ping", headers={"Authorization": f"Bearer {fresh.token}"}).is_success


def test_a_token_of_the_new_generation_works_at_once_though_the_cache_is_older(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, _ = make_user()
    old = {"Authorization": f"Bearer {issue_access_token(user.id, user.role).token}"}
    assert client.get("/v1/ping", headers=old).status_code == 200  # caches generation 0
    set_password(db_session, user.username, "a brand new passphrase")
    db_session.commit()
    db_session.refresh(user)
    new = issue_access_token(user.id, user.role, generation=user.credentials_generation)
    answer = client.get("/v1/ping", headers={"Authorization": f"Bearer {new.token}"})
    assert answer.status_code == 200  # no wait for the cached snapshot to expire
    assert client.get("/v1/ping", headers=old).status_code == 401  # the reload saw the change
