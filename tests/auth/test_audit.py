"""Audit: security events are logged with who, from where and which request, and no
password, token or key is ever stored or logged in clear text."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.tables.api_key import ApiKey
from api.db.tables.refresh_token import RefreshToken
from api.db.tables.user import User
from tests.auth.conftest import CapturedLogs, log_in
from tests.fixtures.db import MakeUser


def _row_values(session: Session, table: type[object]) -> str:
    return " ".join(str(vars(row)) for row in session.scalars(select(table)))


def test_security_events_are_logged_without_any_secret(
    client: TestClient,
    make_user: MakeUser,
    admin_headers: dict[str, str],
    db_session: Session,
    captured_logs: CapturedLogs,
) -> None:
    password = "a fresh password for audit"
    created = client.post(
        "/v1/users",
        json={"username": "audited", "password": password, "role": "member"},
        headers=admin_headers,
    )
    assert created.status_code == 201
    user_id = created.json()["id"]

    assert log_in(client, "audited", "the wrong password").status_code == 401
    tokens = log_in(client, "audited", password).json()
    rotated = client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    # A reuse, so the reuse event is covered too.
    client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    bearer = {"Authorization": f"Bearer {rotated.json()['access_token']}"}
    key = client.post(
        "/v1/api-keys", json={"name": "audit", "expires_in_days": 7}, headers=bearer
    ).json()
    client.delete(f"/v1/api-keys/{key['id']}", headers={"X-Request-ID": "req-42", **bearer})

    secrets = [
        password,
        "the wrong password",
        tokens["access_token"],
        tokens["refresh_token"],
        rotated.json()["access_token"],
        rotated.json()["refresh_token"],
        key["key"],
    ]
    for secret in secrets:
        assert secret not in captured_logs.text

    failed = captured_logs.events("login_failed")
    assert failed and failed[0]["username"] == "audited" and failed[0]["client"] == "testclient"
    succeeded = captured_logs.events("login_succeeded")
    assert [e["user_id"] for e in succeeded] == [user_id]
    assert all(e["request_id"] for e in failed + succeeded)
    assert captured_logs.events("refresh_token_reused")[0]["user_id"] == user_id
    created_event = captured_logs.events("api_key_created")[0]
    assert created_event["key_id"] == key["id"] and created_event["user_id"] == user_id
    revoked = captured_logs.events("api_key_revoked")[0]
    assert revoked["key_id"] == key["id"] and revoked["request_id"] == "req-42"
    assert revoked["client"] == "testclient"

    stored = " ".join(_row_values(db_session, t) for t in (User, ApiKey, RefreshToken))
    for secret in secrets:
        assert secret not in stored
    user = db_session.get(User, user_id)
    assert user is not None and user.password_hash.startswith("$argon2id$")
