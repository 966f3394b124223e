"""The prediction log: written off the request path, flushed on shutdown, admins only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.prediction_log import PredictionLog
from api.predictions.serving import get_serving
from tests.predictions.conftest import RegisterModel, build_app, instance


@pytest.fixture
def log_api(committed_db: Engine, api: TestClient) -> Iterator[TestClient]:
    """The app; the log rows its flusher commits are truncated after the test."""
    yield api


def test_every_instance_is_logged_and_flushed_on_shutdown(
    committed_db: Engine,
    db_session: Session,
    member_headers: dict[str, str],
    registered_model: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No periodic flush during the test: only the shutdown flush can write the rows.
    monkeypatch.setattr(get_settings(), "prediction_log_flush_seconds", 3600.0)
    monkeypatch.setattr(get_settings(), "prediction_log_batch", 10_000)
    instances = [instance(), instance(type="casa", net_area=300.0)]
    # The application's lifespan shutdown, and nothing else, must write the rows.
    with TestClient(build_app(db_session)) as client:
        response = client.post(
            "/v1/predictions",
            json={"instances": instances},
            headers={**member_headers, "X-Request-ID": "req-log-1"},
        )
        assert response.status_code == 200
        assert _rows(db_session, "req-log-1") == []  # still buffered
    rows = _rows(db_session, "req-log-1")
    assert [r.position for r in rows] == [0, 1]
    assert [r.price for r in rows] == [p["price"] for p in response.json()["predictions"]]
    assert rows[1].net_area == 300.0
    assert rows[1].type == "casa"
    assert {r.model_version for r in rows} == {registered_model}
    assert {r.model for r in rows} == {"production"}
    assert all(r.latency_ms > 0 for r in rows)
    assert rows[0].user_id is not None


def test_admin_reads_the_log_newest_first_with_filters(
    log_api: TestClient,
    admin_headers: dict[str, str],
    register_model: RegisterModel,
) -> None:
    first = register_model(0, alias="production")
    second = register_model(1, alias="staging")
    for i, model in enumerate(["production", "staging", "production"]):
        response = log_api.post(
            "/v1/predictions",
            json={"model": model, "instances": [instance(n_rooms=float(i))]},
            headers={**admin_headers, "X-Request-ID": f"req-{i}"},
        )
        assert response.status_code == 200
    get_serving().log.flush()

    everything = log_api.get("/v1/predictions/log", headers=admin_headers).json()["items"]
    assert [item["request_id"] for item in everything[:3]] == ["req-2", "req-1", "req-0"]
    only_first = log_api.get(
        "/v1/predictions/log", params={"model_version": first}, headers=admin_headers
    ).json()["items"]
    assert {item["model_version"] for item in only_first} == {first}
    assert [item["request_id"] for item in only_first[:2]] == ["req-2", "req-0"]
    limited = log_api.get("/v1/predictions/log", params={"limit": 1}, headers=admin_headers)
    assert [item["request_id"] for item in limited.json()["items"]] == ["req-2"]

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        log_api.get("/v1/predictions/log", params={"since": future}, headers=admin_headers).json()[
            "items"
        ]
        == []
    )
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert (
        log_api.get("/v1/predictions/log", params={"until": past}, headers=admin_headers).json()[
            "items"
        ]
        == []
    )
    assert second in {item["model_version"] for item in everything}
    assert everything[0]["inputs"] == {**instance(n_rooms=2.0)}


def test_the_limit_is_at_most_1000(log_api: TestClient, admin_headers: dict[str, str]) -> None:
    response = log_api.get("/v1/predictions/log", params={"limit": 1001}, headers=admin_headers)
    assert response.status_code == 422


def test_a_member_cannot_read_the_log(log_api: TestClient, member_headers: dict[str, str]) -> None:
    response = log_api.get("/v1/predictions/log", headers=member_headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def _rows(session: Session, request_id: str) -> list[PredictionLog]:
    stmt = (
        select(PredictionLog)
        .where(PredictionLog.request_id == request_id)
        .order_by(PredictionLog.position)
    )
    return list(session.scalars(stmt))
