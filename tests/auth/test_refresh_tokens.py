"""Refresh tokens rotate on use; presenting a used one revokes the whole family."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth.opaque import digest
from api.db.tables.refresh_token import RefreshToken
from tests.auth.conftest import log_in
from tests.fixtures.db import MakeUser


def _refresh(client: TestClient, token: str) -> httpx.Response:
    response: httpx.Response = client.post("/v1/auth/refresh", json={"refresh_token": token})
    return response


def _code(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


def test_refresh_returns_a_new_pair_and_the_used_token_stops_working(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    first = log_in(client, user.username, password).json()
    second = _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    me = client.get("/v1/users/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert me.json()["id"] == user.id
    # The new refresh token works once in turn.
    assert _refresh(client, pair["refresh_token"]).status_code == 200


def test_reusing_a_refresh_token_revokes_every_token_of_that_login(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    stolen = log_in(client, user.username, password).json()["refresh_token"]
    other_device = log_in(client, user.username, password).json()["refresh_token"]
    legitimate = _refresh(client, stolen).json()["refresh_token"]

    reuse = _refresh(client, stolen)
    assert _code(reuse) == (401, "invalid_token")
    assert "already used" in reuse.json()["error"]["message"]
    # The successor of the reused token is dead too (the revocation was committed
    # even though the request failed) ...
    assert _code(_refresh(client, legitimate)) == (401, "invalid_token")
    # ... while a separate login is untouched.
    assert _refresh(client, other_device).status_code == 200


def test_expired_refresh_token_answers_token_expired(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, password = make_user()
    token = log_in(client, user.username, password).json()["refresh_token"]
    row = db_session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == digest(token))
    ).one()
    row.expires_at = row.created_at - timedelta(seconds=1)
    db_session.flush()
    assert _code(_refresh(client, token)) == (401, "token_expired")


def test_unknown_refresh_token_is_invalid(client: TestClient) -> None:
    assert _code(_refresh(client, "tsr_made-up")) == (401, "invalid_token")


def test_an_access_token_is_not_a_refresh_token(client: TestClient, make_user: MakeUser) -> None:
    user, password = make_user()
    access = log_in(client, user.username, password).json()["access_token"]
    assert _code(_refresh(client, access)) == (401, "invalid_token")


def test_a_refresh_token_issued_before_the_password_was_set_is_refused(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    # A refresh that commits while the password is being set escapes the
    # revocation of the user's tokens; its generation still gives it away.
    user, password = make_user()
    pair = log_in(client, user.username, password).json()
    user.credentials_generation += 1  # what setting the password does, minus the revocation
    db_session.commit()
    assert _code(_refresh(client, pair["refresh_token"])) == (401, "invalid_token")
    fresh = log_in(client, user.username, password).json()
    again = _refresh(client, fresh["refresh_token"])
    assert again.status_code == 200
    me = client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {again.json()['access_token']}"}
    )
    assert me.status_code == 200
