"""Fixtures for the predictions tests: trained artifacts, registered models, the app.

Two small models are trained once per run (30 trees on 1,500 synthetic rows,
different seeds) so alias moves have somewhere to go, and both are kept as
signed artifact bytes plus the fitted scikit-learn estimator to compare against.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.session import session_scope
from api.dependencies import get_session
from api.ml import artifact as artifacts
from api.ml.synth import generate
from api.ml.training import train
from api.ml.validation import validate_frame
from api.predictions.serving import stop_serving
from api.registry import service as registry_service
from api.storage import get_store
from tests.predictions.app import create_app


@dataclass(frozen=True)
class TrainedModel:
    estimator: Any
    data: bytes  # the signed artifact


def _train(seed: int, n_estimators: int) -> TrainedModel:
    frame = validate_frame(generate(1500, seed), require_target=True).frame
    result = train(frame, preset="default", params={"n_estimators": n_estimators})
    artifact = artifacts.ModelArtifact.from_training(
        result, {"uri": "s3://tests/train.csv", "sha256": "0" * 64, "rows": 1500}
    )
    key = get_settings().secret_key.get_secret_value().encode()
    return TrainedModel(result.estimator, artifacts.to_bytes(artifact, key))


@pytest.fixture(scope="session")
def trained_models() -> list[TrainedModel]:
    return [_train(seed=1, n_estimators=30), _train(seed=2, n_estimators=20)]


RegisterModel = Callable[..., int]


def register(
    session: Session,
    model: TrainedModel,
    alias: str | None = "production",
    training_uri: str = "s3://tests/train.csv",
) -> int:
    """Store ``model``'s artifact, register a version, optionally point ``alias`` at it."""
    uri = f"s3://{get_settings().bucket}/models/test-{uuid.uuid4().hex}/model.tsm"
    get_store().put_bytes(uri, model.data)
    row = registry_service.register(
        session,
        preset="default",
        params={},
        metrics={},
        evaluation={},
        training_data={"uri": training_uri, "sha256": "0" * 64, "rows": 1500},
        artifact_uri=uri,
    )
    if alias is not None:
        registry_service.move_alias(session, alias, row.version, actor_id=None, reason="test")
    return row.version


@pytest.fixture
def register_model(db_session: Session, trained_models: list[TrainedModel]) -> RegisterModel:
    """``register_model(index=0, alias="production") -> version`` in the test's transaction."""

    def make(index: int = 0, alias: str | None = "production") -> int:
        return register(db_session, trained_models[index], alias)

    return make


@pytest.fixture
def registered_model(register_model: RegisterModel) -> int:
    """The version of a trained model that ``production`` points at."""
    return register_model(0)


def build_app(session: Session) -> FastAPI:
    """The app (with the predictions routes) over ``session``, with fresh serving state.

    Serving state is per process; it is reset so no model or alias from another
    test's (rolled-back) data is served.
    """
    stop_serving()
    app = create_app()

    def _session() -> Iterator[Session]:
        with session_scope(session) as current:
            yield current

    app.dependency_overrides[get_session] = _session
    app.state.session_opener = lambda: session_scope(session)
    return app


@contextmanager
def app_client(session: Session) -> Iterator[TestClient]:
    """A client of ``build_app(session)``, lifespan included."""
    try:
        with TestClient(build_app(session)) as test_client:
            yield test_client
    finally:
        stop_serving()


@pytest.fixture
def api(db_session: Session) -> Iterator[TestClient]:
    with app_client(db_session) as test_client:
        yield test_client


def instance(**overrides: Any) -> dict[str, Any]:
    """A valid instance (a Las Condes flat), with ``overrides``."""
    base: dict[str, Any] = {
        "type": "departamento",
        "sector": "las condes",
        "net_usable_area": 80.0,
        "net_area": 90.0,
        "n_rooms": 2.0,
        "n_bathroom": 2.0,
        "latitude": -33.41,
        "longitude": -70.56,
    }
    return {**base, **overrides}
