"""Users: who am I, admins creating users, and the first-admin bootstrap."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.auth.passwords import verify_password
from api.users.repository import get_by_username
from api.users.service import ensure_admin
from tests.fixtures.db import HeadersFor, MakeUser


def test_me_describes_the_caller(
    client: TestClient, make_user: MakeUser, auth_headers_for: HeadersFor
) -> None:
    user, _ = make_user(username="ana", role="admin")
    headers = auth_headers_for(user)
    body = client.get("/v1/users/me", headers=headers).json()
    assert body["id"] == user.id
    assert body["username"] == "ana"
    assert body["role"] == "admin"
    assert body["created_at"].endswith(("Z", "+00:00"))


def test_admin_creates_a_user_who_can_then_log_in(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    created = client.post(
        "/v1/users",
        json={"username": "Valuer", "password": "twelve chars ok", "role": "member"},
        headers=admin_headers,
    )
    assert created.status_code == 201
    assert created.json()["username"] == "valuer"
    assert created.json()["role"] == "member"
    login = client.post(
        "/v1/auth/token", data={"username": "valuer", "password": "twelve chars ok"}
    )
    assert login.status_code == 200


def test_member_calling_an_admin_route_is_forbidden(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    answer = client.post(
        "/v1/users",
        json={"username": "sneaky", "password": "twelve chars ok", "role": "admin"},
        headers=member_headers,
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"


def test_taken_username_answers_conflict(
    client: TestClient, make_user: MakeUser, admin_headers: dict[str, str]
) -> None:
    make_user(username="taken")
    answer = client.post(
        "/v1/users",
        json={"username": "TAKEN", "password": "twelve chars ok"},
        headers=admin_headers,
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "username_taken"


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("newcomer", "too short", "at least 12 characters"),
        ("newcomer12345", "NEWCOMER12345", "same as the username"),
    ],
)
def test_weak_password_answers_422_saying_what_is_wrong(
    client: TestClient, admin_headers: dict[str, str], username: str, password: str, message: str
) -> None:
    answer = client.post(
        "/v1/users", json={"username": username, "password": password}, headers=admin_headers
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "weak_password"
    assert message in answer.json()["error"]["message"]


def test_unknown_role_and_bad_username_are_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    role = client.post(
        "/v1/users",
        json={"username": "someone", "password": "twelve chars ok", "role": "owner"},
        headers=admin_headers,
    )
    assert role.status_code == 422
    name = client.post(
        "/v1/users",
        json={"username": "no spaces allowed", "password": "twelve chars ok"},
        headers=admin_headers,
    )
    assert name.status_code == 422
    assert name.json()["error"]["code"] == "invalid_username"


def test_ensure_admin_creates_once_and_never_changes_the_account(db_session: Session) -> None:
    assert ensure_admin(db_session, "root", "first admin password") is True
    assert ensure_admin(db_session, "root", "another password!!") is False
    admin = get_by_username(db_session, "root")
    assert admin is not None and admin.is_admin
    assert verify_password("first admin password", admin.password_hash)[0] is True
