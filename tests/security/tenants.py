"""Helpers for the tenant-isolation tests: data owned by a given user, models, fingerprints."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.job import Job
from api.db.tables.model_alias import ModelAlias
from api.ml import artifact as artifacts
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame
from api.ownership import artifact_uri
from api.registry import service as registry_service
from api.storage import get_store


def csv_bytes(rows: int = 60, seed: int = 1, *, target: bool = True) -> bytes:
    frame = generate(rows, seed=seed)
    if not target:
        frame = frame.drop(columns=["price"])
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


def upload(client: TestClient, headers: dict[str, str], seed: int = 1) -> dict[str, Any]:
    """Upload a small valid dataset as the caller; the API's answer."""
    files = {"file": ("homes.csv", csv_bytes(seed=seed), "text/csv")}
    answer = client.post("/v1/datasets", files=files, headers=headers)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def sha256_of(uri: str) -> str:
    return hashlib.sha256(get_store().get_bytes(uri)).hexdigest()


def jobs_of(session: Session) -> list[Job]:
    session.expire_all()
    return list(session.scalars(select(Job)))


def aliases(session: Session) -> dict[str, int]:
    session.expire_all()
    return {a.name: a.version for a in session.scalars(select(ModelAlias))}


@dataclass(frozen=True)
class StoredModel:
    version: int
    artifact_uri: str


@pytest.fixture(scope="session")
def tiny_artifact() -> bytes:
    """A real, signed model artifact (10 shallow trees; trained once per run)."""
    frame = validate_frame(generate(400, seed=11), require_target=True).frame
    result = train(frame, preset="default", params={"n_estimators": 10, "max_depth": 3})
    fingerprint = {"uri": "s3://tests/train.csv", "sha256": "0" * 64, "rows": 400}
    artifact = artifacts.ModelArtifact.from_training(result, fingerprint)
    return artifacts.to_bytes(artifact, get_settings().secret_key.get_secret_value().encode())


def store_model(
    session: Session,
    data: bytes,
    *,
    training_uri: str = "s3://tests/train.csv",
    alias: str | None = "production",
    created_by: int | None = None,
) -> StoredModel:
    """An artifact in the store and its registered version (optionally aliased)."""
    uri = artifact_uri(str(uuid.uuid4()))
    get_store().put_bytes(uri, data)
    row = registry_service.register(
        session,
        preset="default",
        params={},
        metrics={},
        evaluation={},
        training_data={"uri": training_uri, "sha256": "0" * 64, "rows": 400},
        artifact_uri=uri,
        created_by=created_by,
    )
    if alias is not None:
        registry_service.move_alias(session, alias, row.version, actor_id=None, reason="test")
    session.commit()  # releases a savepoint; the test's transaction still rolls back
    return StoredModel(row.version, uri)
