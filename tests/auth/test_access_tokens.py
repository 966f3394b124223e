"""Access tokens: claims, lifetime, and expired versus tampered tokens."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from api.auth.tokens import issue_access_token, read_access_expiry
from api.config import get_settings
from tests.fixtures.db import MakeUser


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _error(client: TestClient, token: str) -> tuple[int, str]:
    answer = client.get("/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.json()["error"]["code"]


@pytest.fixture
def short_tokens(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TASADOR_ACCESS_TOKEN_MINUTES", "5")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


def test_access_token_carries_user_role_expiry_and_type() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    claims = _claims(issue_access_token(42, "admin", now=now).token)
    assert claims["sub"] == "42"
    assert claims["role"] == "admin"
    assert claims["type"] == "access"
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int((now + timedelta(minutes=30)).timestamp())
    assert isinstance(claims["jti"], str) and claims["jti"]


def test_access_token_lifetime_follows_the_setting(short_tokens: None) -> None:
    token = issue_access_token(1, "member")
    claims = _claims(token.token)
    assert token.expires_in == 5 * 60
    assert claims["exp"] - claims["iat"] == 5 * 60  # type: ignore[operator]


def test_expired_access_token_answers_token_expired(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    old = issue_access_token(user.id, user.role, now=datetime.now(UTC) - timedelta(minutes=31))
    assert _error(client, old.token) == (401, "token_expired")


def test_tampered_access_token_answers_invalid_token(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    header, _payload, signature = issue_access_token(user.id, user.role).token.split(".")
    claims = _claims(issue_access_token(user.id, user.role).token)
    forged = f"{header}.{_b64({**claims, 'role': 'admin'})}.{signature}"
    assert _error(client, forged) == (401, "invalid_token")


def test_tampered_and_expired_token_is_reported_invalid_not_expired(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    old = issue_access_token(user.id, user.role, now=datetime.now(UTC) - timedelta(hours=2))
    header, payload, signature = old.token.split(".")
    flipped = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    assert _error(client, f"{header}.{payload}.{flipped}") == (401, "invalid_token")


def test_token_signed_with_another_key_or_no_algorithm_is_refused(
    client: TestClient, make_user: MakeUser
) -> None:
    user, _ = make_user()
    claims = _claims(issue_access_token(user.id, user.role).token)
    other_key = OctKey.import_key("another-secret-key-that-is-long-enough-0123")
    foreign = jwt.encode({"alg": "HS256"}, claims, other_key)
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    assert _error(client, foreign) == (401, "invalid_token")
    assert _error(client, unsigned) == (401, "invalid_token")
    assert _error(client, "not-a-token") == (401, "invalid_token")


def test_token_of_a_deleted_user_is_refused(client: TestClient) -> None:
    assert _error(client, issue_access_token(987654321, "admin").token) == (401, "invalid_token")


def test_reading_a_valid_token_gives_its_user_id_generation_and_expiry() -> None:
    issued = issue_access_token(7, "member", generation=3)
    user_id, generation, expires = read_access_expiry(issued.token)
    assert (user_id, generation) == (7, 3)
    assert abs(expires - (time.time() + issued.expires_in)) < 5
