"""Issue 12, item 10 (bounded columns): every string stored in a bounded column is
checked at the edge, so an overlong one answers 422 naming the field, not 500.

The attack: a dataset file name over 255 characters answered 500 on Postgres.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import String, func, select
from sqlalchemy.orm import Session

import api.db.tables  # noqa: F401  (registers every table)
from api.db.base import Base
from api.db.tables.api_key import ApiKey
from api.db.tables.dataset import Dataset
from api.db.tables.job import Job
from api.db.tables.user import User
from api.ml.synth import generate
from api.storage import get_store
from tests.auth.conftest import log_in
from tests.fixtures.db import MakeUser

# Every bounded string column, and what keeps an overlong value out of it.
# A column added without a line here fails test_every_bounded_column_is_reviewed.
REVIEWED: dict[str, str] = {
    "alias_events.alias": "alias names: 1-32 of [a-z0-9-] (registry service)",
    "alias_events.reason": "written by the service ('api', 'test'), never by a caller",
    "api_keys.name": "ApiKeyCreate.name max_length=100",
    "api_keys.prefix": "generated",
    "api_keys.key_hash": "sha256 hex",
    "datasets.name": "upload: 255 characters, name or file name (test below)",
    "datasets.uri": "generated from the owner id and a uuid",
    "datasets.sha256": "sha256 hex",
    "jobs.kind": "enum",
    "data_sources.name": "SourceName: 1-64 of [A-Za-z0-9_.-] (DataSourceIn)",
    "data_sources.url": "DataSourceIn.url max_length=2048; stored without its password",
    "data_sources.description": "DataSourceIn.description max_length=1000",
    "jobs.status": "enum",
    "job_partitions.status": "enum",
    "jobs.callback_url": "check_callback_url: at most 2048 characters",
    "jobs.idempotency_key": "Idempotency-Key header max_length=255 (test below)",
    "jobs.request_hash": "sha256 hex",
    "login_attempts.username": "truncated to 64 (a longer username cannot exist)",
    "login_attempts.client_address": "truncated to 64",
    "model_aliases.name": "alias names: 1-32 of [a-z0-9-] (registry service)",
    "model_versions.preset": "a preset name from the code's list",
    "model_versions.artifact_uri": "generated from the job id",
    "prediction_logs.request_id": "X-Request-ID: 1-64 of [A-Za-z0-9._-], else generated",
    "prediction_logs.model": "PredictionRequest.model max_length=64 (test below)",
    "prediction_logs.type": "casa | departamento",
    "prediction_logs.sector": "Sector max_length=200",
    "refresh_tokens.token_hash": "sha256 hex",
    "users.username": "check_username: 3-64 characters (test below)",
    "users.password_hash": "argon2 hash",
    "users.role": "admin | member",
    "webhook_deliveries.id": "generated",
    "webhook_deliveries.event": "job.succeeded | job.failed | job.cancelled",
    "webhook_deliveries.url": "the job's checked callback_url",
    "webhook_deliveries.status": "enum",
    "webhook_attempts.delivery_id": "webhook_deliveries.id",
    "webhook_secrets.secret": "generated",
    "webhook_secrets.previous_secret": "generated",
}


def test_every_bounded_column_is_reviewed() -> None:
    bounded = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, String) and column.type.length is not None
    }
    assert bounded - REVIEWED.keys() == set(), "new bounded columns: say what checks them"


def _count(session: Session, table: type) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def _stored_files() -> set[Path]:
    root = getattr(get_store(), "root", None)
    return {p for p in Path(root).rglob("*") if p.is_file()} if root else set()


CSV = generate(10, seed=5).to_csv(index=False).encode()


@pytest.mark.parametrize(
    ("filename", "name"),
    [("homes.csv", "n" * 256), ("h" * 252 + ".csv", None)],
    ids=["name-field", "file-name"],
)
def test_an_overlong_dataset_name_answers_422_and_stores_nothing(
    client: TestClient,
    member_headers: dict[str, str],
    db_session: Session,
    filename: str,
    name: str | None,
) -> None:
    before = _stored_files()
    response = client.post(
        "/v1/datasets",
        files={"file": (filename, CSV, "text/csv")},
        data={"name": name} if name else {},
        headers=member_headers,
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_dataset_name"
    assert "256 characters" in error["message"] and "255" in error["message"]
    assert _count(db_session, Dataset) == 0
    assert _stored_files() == before


def test_a_255_character_dataset_name_is_kept_whole(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    response = client.post(
        "/v1/datasets",
        files={"file": ("homes.csv", CSV, "text/csv")},
        data={"name": "é" * 255},
        headers=member_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "é" * 255


def test_an_overlong_api_key_name_answers_422(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    response = client.post(
        "/v1/api-keys", json={"name": "k" * 101, "expires_in_days": 1}, headers=member_headers
    )
    assert response.status_code == 422
    assert "name" in response.json()["error"]["message"]
    assert _count(db_session, ApiKey) == 0


def test_an_overlong_username_answers_422(
    client: TestClient, admin_headers: dict[str, str], db_session: Session
) -> None:
    users_before = _count(db_session, User)
    response = client.post(
        "/v1/users",
        json={"username": "u" * 65, "password": "a long enough password", "role": "member"},
        headers=admin_headers,
    )
    assert response.status_code == 422
    assert "username" in response.json()["error"]["message"]
    assert _count(db_session, User) == users_before


def test_an_overlong_login_username_is_just_wrong_credentials(
    client: TestClient, make_user: MakeUser
) -> None:
    user, password = make_user(username="a" * 64)
    # Not the user whose name it starts with, although the throttle keys it by 64 characters.
    response = log_in(client, user.username + "x" * 10_000, password)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert log_in(client, user.username, password).status_code == 200


def test_an_overlong_model_name_in_a_prediction_answers_422(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    response = client.post(
        "/v1/predictions", json={"model": "m" * 65, "instances": [{}]}, headers=member_headers
    )
    assert response.status_code == 422
    assert any(p["field"] == "model" for p in response.json()["error"]["details"])


def test_an_overlong_idempotency_key_answers_422_and_creates_no_job(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    response = client.post(
        "/v1/jobs/training",
        json={"train_data": "s3://tasador/x.csv"},
        headers={**member_headers, "Idempotency-Key": hashlib.sha256(b"k").hexdigest() * 5},
    )
    assert response.status_code == 422
    assert _count(db_session, Job) == 0
