"""API keys: shown once, stored hashed, expiring, revocable, tracked when used."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.tables.api_key import ApiKey
from tests.fixtures.db import HeadersFor, MakeUser


def _create(client: TestClient, headers: dict[str, str], days: object = 30) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/api-keys", json={"name": "nightly batch", "expires_in_days": days}, headers=headers
    )
    return response


def _me(client: TestClient, key: str) -> httpx.Response:
    response: httpx.Response = client.get("/v1/users/me", headers={"X-API-Key": key})
    return response


def test_created_key_is_shown_once_and_opens_the_api(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    created = _create(client, member_headers)
    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("tsk_")
    assert body["key"].startswith(body["prefix"])
    assert body["name"] == "nightly batch"
    assert _me(client, body["key"]).status_code == 200

    listed = client.get("/v1/api-keys", headers=member_headers).json()
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]
    assert body["key"] not in str(listed)


@pytest.mark.parametrize("days", [0, 366, None, "soon"])
def test_lifetime_outside_1_to_365_days_is_refused(
    client: TestClient, member_headers: dict[str, str], days: object
) -> None:
    payload = {"name": "x"} if days is None else {"name": "x", "expires_in_days": days}
    answer = client.post("/v1/api-keys", json=payload, headers=member_headers)
    assert answer.status_code == 422
    assert "expires_in_days" in answer.json()["error"]["message"]


def test_expiry_is_the_requested_number_of_days_away(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    body = _create(client, member_headers, days=365).json()
    row = db_session.get(ApiKey, body["id"])
    assert row is not None
    assert row.expires_at - row.created_at == timedelta(days=365)


def test_expired_key_answers_token_expired(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    body = _create(client, member_headers).json()
    row = db_session.get(ApiKey, body["id"])
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    answer = _me(client, body["key"])
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "token_expired"


def test_revoked_key_stops_working_and_leaves_the_list(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    body = _create(client, member_headers).json()
    assert client.delete(f"/v1/api-keys/{body['id']}", headers=member_headers).status_code == 204
    answer = _me(client, body["key"])
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_token"
    assert client.get("/v1/api-keys", headers=member_headers).json() == []
    again = client.delete(f"/v1/api-keys/{body['id']}", headers=member_headers)
    assert again.status_code == 404


def test_a_member_cannot_see_or_revoke_another_users_key(
    client: TestClient, make_user: MakeUser, auth_headers_for: HeadersFor
) -> None:
    owner = auth_headers_for(make_user()[0])
    other = auth_headers_for(make_user()[0])
    body = _create(client, owner).json()
    assert client.get("/v1/api-keys", headers=other).json() == []
    answer = client.delete(f"/v1/api-keys/{body['id']}", headers=other)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "api_key_not_found"
    assert _me(client, body["key"]).status_code == 200


def test_an_admin_can_revoke_any_key(
    client: TestClient, member_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    body = _create(client, member_headers).json()
    assert client.delete(f"/v1/api-keys/{body['id']}", headers=admin_headers).status_code == 204
    assert _me(client, body["key"]).status_code == 401


def test_an_api_key_cannot_create_more_keys(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    key = _create(client, member_headers).json()["key"]
    answer = _create(client, {"X-API-Key": key})
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_unknown_or_malformed_key_is_invalid(client: TestClient) -> None:
    for key in ("tsk_not-a-real-key", "hello"):
        answer = _me(client, key)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "invalid_token"


def test_last_use_is_recorded_at_most_once_a_minute(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    body = _create(client, member_headers).json()
    assert client.get("/v1/api-keys", headers=member_headers).json()[0]["last_used_at"] is None

    _me(client, body["key"])
    row = db_session.get(ApiKey, body["id"])
    assert row is not None
    db_session.refresh(row)
    first_use = row.last_used_at
    assert first_use is not None

    _me(client, body["key"])
    db_session.refresh(row)
    assert row.last_used_at == first_use  # within the minute: no write

    row.last_used_at = first_use - timedelta(minutes=2)
    db_session.flush()
    _me(client, body["key"])
    db_session.refresh(row)
    assert row.last_used_at is not None and row.last_used_at > first_use
