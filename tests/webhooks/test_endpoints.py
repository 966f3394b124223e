"""The webhooks HTTP API: secret, rotation, delivery history, redelivery."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobStatus
from api.db.tables.user import User
from api.db.tables.webhook_delivery import WebhookAttempt
from api.dependencies import get_session
from api.jobs import service as jobs_service
from api.main import create_app
from api.webhooks import service
from api.webhooks.endpoints import router as webhooks_router
from tests.fixtures.db import HeadersFor, MakeUser


def with_routes(app: FastAPI) -> FastAPI:
    """The app as main.py builds it, plus the routers these tests need if not yet there."""
    paths = {getattr(route, "path", "") for route in app.routes}
    if "/v1/webhooks/secret" not in paths:
        app.include_router(webhooks_router)
    if "/v1/jobs/training" not in paths:
        from api.jobs.endpoints import router as jobs_router

        app.include_router(jobs_router)
    return app


@pytest.fixture
def api(db_session: Session) -> Iterator[TestClient]:
    app = with_routes(create_app())

    def _session() -> Iterator[Session]:
        with session_scope(db_session) as session:
            yield session

    app.dependency_overrides[get_session] = _session
    app.state.session_opener = lambda: session_scope(db_session)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def owner(make_user: MakeUser) -> User:
    return make_user()[0]


def ended_job(
    session: Session, owner: User, url: str | None = "https://hooks.example.com/x"
) -> Job:
    job = Job(
        owner_id=owner.id,
        kind="batch_inference",
        status="succeeded",
        request={"input_data": "s3://tasador/in.csv"},
        inputs={},
        callback_url=url,
        result={"rows": 3},
        finished_at=utcnow(),
    )
    session.add(job)
    session.flush()
    return job


def test_secret_is_created_on_first_read_and_stays_the_same(
    api: TestClient, owner: User, auth_headers_for: HeadersFor
) -> None:
    headers = auth_headers_for(owner)
    first = api.get("/v1/webhooks/secret", headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["secret"].startswith("whsec_")
    assert api.get("/v1/webhooks/secret", headers=headers).json() == first.json()


def test_each_user_has_their_own_secret(
    api: TestClient, member_headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    mine = api.get("/v1/webhooks/secret", headers=member_headers).json()["secret"]
    theirs = api.get("/v1/webhooks/secret", headers=admin_headers).json()["secret"]
    assert mine != theirs


def test_rotation_replaces_the_secret_and_keeps_the_old_one_for_24_hours(
    api: TestClient, member_headers: dict[str, str]
) -> None:
    old = api.get("/v1/webhooks/secret", headers=member_headers).json()["secret"]
    rotated = api.post("/v1/webhooks/secret/rotate", headers=member_headers)
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != old
    overlap = datetime.fromisoformat(body["previous_valid_until"]) - utcnow()
    assert 23.9 * 3600 < overlap.total_seconds() <= 24 * 3600
    assert api.get("/v1/webhooks/secret", headers=member_headers).json()["secret"] == body["secret"]


def test_secret_needs_authentication(api: TestClient) -> None:
    response = api.get("/v1/webhooks/secret")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_deliveries_are_listed_to_the_owner_only(
    api: TestClient,
    db_session: Session,
    owner: User,
    make_user: MakeUser,
    auth_headers_for: HeadersFor,
) -> None:
    job = ended_job(db_session, owner)
    delivery = service.schedule_final_event(
        db_session, job, jobs_service.owner_snapshot(db_session, job)
    )
    db_session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempt=1,
            started_at=utcnow(),
            status_code=500,
            error=None,
            duration_ms=12,
            response_snippet="oops",
        )
    )
    db_session.flush()

    mine = api.get(f"/v1/jobs/{job.id}/deliveries", headers=auth_headers_for(owner))
    assert mine.status_code == 200, mine.text
    (item,) = mine.json()["items"]
    assert item["id"] == delivery.id and item["event"] == "job.succeeded"
    assert item["status"] == "pending" and item["url"] == job.callback_url
    (attempt,) = item["attempts"]
    assert attempt["attempt"] == 1 and attempt["status_code"] == 500
    assert attempt["duration_ms"] == 12 and attempt["response_snippet"] == "oops"

    stranger = auth_headers_for(make_user()[0])
    for method, path in (("GET", "deliveries"), ("POST", "deliveries/redeliver")):
        response = api.request(method, f"/v1/jobs/{job.id}/{path}", headers=stranger)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"


def test_redeliver_is_accepted_for_an_ended_job_and_refused_otherwise(
    api: TestClient, db_session: Session, owner: User, auth_headers_for: HeadersFor
) -> None:
    headers = auth_headers_for(owner)
    job = ended_job(db_session, owner)
    response = api.post(f"/v1/jobs/{job.id}/deliveries/redeliver", headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "pending" and response.json()["id"].startswith("msg_")

    silent = ended_job(db_session, owner, url=None)
    response = api.post(f"/v1/jobs/{silent.id}/deliveries/redeliver", headers=headers)
    assert response.status_code == 409 and response.json()["error"]["code"] == "no_callback_url"

    running = ended_job(db_session, owner)
    running.status = JobStatus.RUNNING
    db_session.flush()
    response = api.post(f"/v1/jobs/{running.id}/deliveries/redeliver", headers=headers)
    assert response.status_code == 409 and response.json()["error"]["code"] == "job_not_finished"

    missing = api.get(f"/v1/jobs/{uuid.uuid4()}/deliveries", headers=headers)
    assert missing.status_code == 404


def test_submitting_a_job_with_a_bad_callback_url_is_refused_before_anything_runs(
    api: TestClient, member_headers: dict[str, str]
) -> None:
    body = {"train_data": "s3://tasador/x.csv", "callback_url": "ftp://hooks.example.com/x"}
    response = api.post("/v1/jobs/training", json=body, headers=member_headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_callback_url"
    assert "not scheme 'ftp'" in error["message"]
