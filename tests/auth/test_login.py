"""Logging in with a password, and what a missing or bad credential answers."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.auth.conftest import log_in
from tests.fixtures.db import MakeUser


def test_login_returns_a_token_pair_that_opens_the_api(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    answer = log_in(client, user.username, password)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60
    assert body["refresh_token"].startswith("tsr_")
    me = client.get("/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["id"] == user.id


def test_username_is_not_case_sensitive(client: TestClient, make_user: MakeUser) -> None:
    user, password = make_user(username="MixedCase")
    assert user.username == "mixedcase"
    assert log_in(client, "MIXEDCASE", password).status_code == 200


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user()
    wrong = log_in(client, user.username, password + "x")
    unknown = log_in(client, "nobody_" + user.username, password)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"] == "Bearer"


def test_unknown_user_costs_a_password_check_like_a_wrong_password(
    client: TestClient, make_user: MakeUser
) -> None:
    # Without the dummy-hash check an unknown user answers ~50x faster; a loose
    # ratio keeps the test robust on a busy machine while catching that.
    user, password = make_user()

    def fastest(username: str) -> float:
        times = []
        for _ in range(2):
            start = time.perf_counter()
            log_in(client, username, password + "x")
            times.append(time.perf_counter() - start)
        return min(times)

    wrong_password = fastest(user.username)
    unknown_user = fastest("nobody_" + user.username)
    assert unknown_user > 0.4 * wrong_password
    assert wrong_password > 0.4 * unknown_user


def test_disabled_user_cannot_log_in(
    client: TestClient, make_user: MakeUser, db_session: Session
) -> None:
    user, password = make_user()
    user.is_active = False
    db_session.flush()
    answer = log_in(client, user.username, password)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "invalid_credentials"


def test_calls_without_a_credential_answer_not_authenticated(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        answer = client.get("/v1/users/me", headers=headers)
        assert answer.status_code == 401
        assert answer.json()["error"]["code"] == "not_authenticated"


def test_login_without_a_password_field_is_a_validation_error(client: TestClient) -> None:
    answer = client.post("/v1/auth/token", data={"username": "someone"})
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "validation_error"
    assert "password" in answer.json()["error"]["message"]
