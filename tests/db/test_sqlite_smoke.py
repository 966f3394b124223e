"""The embedded default: a fresh SQLite file, migrated, with a user logging in."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect

from api.db.engine import build_engine, configure_engine, get_engine
from api.db.migrate import upgrade
from api.db.session import session_scope
from api.main import create_app
from api.users.service import ensure_admin


def test_fresh_sqlite_file_migrates_and_a_user_logs_in_through_the_app(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'standalone.db'}"
    upgrade("head", url=url)
    engine = build_engine(url)
    previous = get_engine()
    configure_engine(engine)
    try:
        with session_scope() as session:
            assert ensure_admin(session, "admin", "standalone admin password") is True
        with TestClient(create_app()) as client:
            login = client.post(
                "/v1/auth/token",
                data={"username": "admin", "password": "standalone admin password"},
            )
            assert login.status_code == 200, login.text
            bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
            assert client.get("/v1/users/me", headers=bearer).json()["role"] == "admin"
            key = client.post(
                "/v1/api-keys", json={"name": "cli", "expires_in_days": 1}, headers=bearer
            ).json()["key"]
            assert client.get("/v1/users/me", headers={"X-API-Key": key}).status_code == 200
            refreshed = client.post(
                "/v1/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
            )
            assert refreshed.status_code == 200
        assert "users" in inspect(engine).get_table_names()
    finally:
        configure_engine(previous)
        engine.dispose()
