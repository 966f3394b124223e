"""Submitting, reading, listing and cancelling jobs through the HTTP API.

No worker runs here: these tests pin down what the gateway itself promises.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.registry import service as registry_service
from tests.jobs.conftest import FAST_PARAMS


def submit(client: TestClient, headers: dict[str, str], uri: str, **extra: Any) -> Any:
    body = {"train_data": uri, "preset": "default", "params": FAST_PARAMS, **extra}
    return client.post("/v1/jobs/training", json=body, headers=headers)


def test_training_submit_answers_202_with_location_and_a_queued_job(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    response = submit(client, member_headers, training_csv)
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["Location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] == "queued"
    assert job["kind"] == "training"
    assert job["progress"] == 0 and job["attempts"] == 0
    assert job["request"]["train_data"] == training_csv
    assert job["result"] is None and job["error"] is None
    assert client.get(f"/v1/jobs/{job['id']}", headers=member_headers).json()["id"] == job["id"]


def test_another_members_job_answers_404(
    client: TestClient,
    member_headers: dict[str, str],
    make_user: Callable[..., Any],
    auth_headers_for: Callable[..., dict[str, str]],
    training_csv: str,
) -> None:
    job = submit(client, member_headers, training_csv).json()
    other, _ = make_user()
    other_headers = auth_headers_for(other)
    calls: list[Callable[[], httpx.Response]] = [
        lambda: client.get(f"/v1/jobs/{job['id']}", headers=other_headers),
        lambda: client.post(f"/v1/jobs/{job['id']}/cancel", headers=other_headers),
    ]
    for call in calls:
        response = call()
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"
    listed = client.get("/v1/jobs", headers=other_headers).json()
    assert listed["items"] == []


def test_idempotency_key_replays_the_first_job_and_creates_nothing(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    headers = {**member_headers, "Idempotency-Key": "train-once"}
    first = submit(client, headers, training_csv)
    again = submit(client, headers, training_csv)
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert len(client.get("/v1/jobs", headers=member_headers).json()["items"]) == 1


def test_idempotency_key_with_a_different_body_is_refused(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    headers = {**member_headers, "Idempotency-Key": "k1"}
    assert submit(client, headers, training_csv).status_code == 202
    response = submit(client, headers, training_csv, preset="notebook", params={})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len(client.get("/v1/jobs", headers=member_headers).json()["items"]) == 1


def test_cancelling_a_queued_job_then_again_answers_409(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    job = submit(client, member_headers, training_csv).json()
    response = client.post(f"/v1/jobs/{job['id']}/cancel", headers=member_headers)
    assert response.status_code == 200
    cancelled = response.json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] is not None
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=member_headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "job_finished"


def test_listing_is_newest_first_filtered_and_paginated(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    ids = [submit(client, member_headers, training_csv).json()["id"] for _ in range(5)]
    client.post(f"/v1/jobs/{ids[0]}/cancel", headers=member_headers)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/jobs", params=params, headers=member_headers).json()
        seen += [j["id"] for j in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    queued = client.get("/v1/jobs", params={"status": "queued"}, headers=member_headers).json()
    assert {j["id"] for j in queued["items"]} == set(ids[1:])
    kinds = client.get("/v1/jobs", params={"kind": "batch_inference"}, headers=member_headers)
    assert kinds.json()["items"] == []


def test_limit_above_100_and_bad_cursor_are_refused(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    assert client.get("/v1/jobs?limit=101", headers=member_headers).status_code == 422
    bad = client.get("/v1/jobs?cursor=nonsense", headers=member_headers)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_cursor"


def test_bad_requests_are_refused_before_anything_is_queued(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    cases: dict[str, dict[str, Any]] = {
        "invalid_params": {"params": {"n_estimators": 0}},
        "data_not_found": {"train_data": training_csv.replace(".csv", "-missing.csv")},
        "invalid_uri": {"train_data": "/etc/passwd"},
        "access_denied": {"train_data": "s3://someone-elses-bucket/data.csv"},
    }
    for code, override in cases.items():
        body = {"train_data": training_csv, "params": FAST_PARAMS, **override}
        response = client.post("/v1/jobs/training", json=body, headers=member_headers)
        assert response.status_code in {403, 404, 422}, (code, response.text)
        assert response.json()["error"]["code"] == code
    unknown = client.post(
        "/v1/jobs/training", json={"train_data": training_csv, "bogus": 1}, headers=member_headers
    )
    assert unknown.status_code == 422
    assert client.get("/v1/jobs", headers=member_headers).json()["items"] == []


def test_batch_job_without_any_model_answers_409_no_model(
    client: TestClient, member_headers: dict[str, str], training_csv: str
) -> None:
    response = client.post(
        "/v1/jobs/batch-inference", json={"input_data": training_csv}, headers=member_headers
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_model"


def test_jobs_need_authentication(client: TestClient) -> None:
    response = client.get("/v1/jobs")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_openapi_documents_the_job_kinds_statuses_and_both_result_shapes(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    job = schemas["JobOut"]["properties"]
    refs = {option.get("$ref") for option in job["result"]["anyOf"]}
    assert refs == {
        "#/components/schemas/TrainingResult",
        "#/components/schemas/BatchResult",
        None,  # the null of a job without a result
    }
    assert set(schemas["TrainingResult"]["properties"]) == {
        "model_version",
        "metrics",
        "evaluation",
        "artifact_uri",
        "promoted",
        "promotion",
        "alias",
    }
    assert set(schemas["BatchResult"]["properties"]) == {
        "output_data",
        "rows",
        "failed_rows",
        "errors_data",
        "model_version",
        "input_sha256",
    }
    assert schemas["JobStatus"]["enum"] == ["queued", "running", "succeeded", "failed", "cancelled"]
    assert schemas["JobKind"]["enum"] == ["training", "batch_inference"]


def test_a_result_shows_exactly_the_keys_its_job_recorded(
    client: TestClient, db_session: Session, member: User, member_headers: dict[str, str]
) -> None:
    # No rows failed, so no errors_data; nothing else may appear either.
    recorded = {
        "output_data": f"s3://tasador/outputs/{member.id}/x/predictions.csv",
        "rows": 3,
        "failed_rows": 0,
        "model_version": 1,
        "input_sha256": "0" * 64,
    }
    job = Job(
        owner_id=member.id,
        kind=JobKind.BATCH_INFERENCE,
        status=JobStatus.SUCCEEDED,
        request={"input_data": "s3://tasador/in.csv"},
        inputs={},
        result=recorded,
    )
    db_session.add(job)
    db_session.flush()
    response = client.get(f"/v1/jobs/{job.id}", headers=member_headers)
    assert response.status_code == 200, response.text
    assert response.json()["result"] == recorded


def test_batch_job_interval_needs_a_calibrated_model_and_a_level_in_range(
    client: TestClient, db_session: Session, member_headers: dict[str, str], training_csv: str
) -> None:
    row = registry_service.register(
        db_session,
        preset="default",
        params={},
        metrics={"rmse": 1.0},  # trained before intervals: no coverage reported
        evaluation={},
        training_data={"uri": training_csv, "sha256": "0" * 64, "rows": 1},
        artifact_uri="s3://tasador/models/old/model.tsm",
    )
    registry_service.move_alias(db_session, "production", row.version, actor_id=None, reason="t")
    body = {"input_data": training_csv, "interval": 0.8}
    response = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "interval_unavailable"
    for level in (0.2, 1.5, "0.8"):
        body = {"input_data": training_csv, "interval": level}
        response = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
        assert response.status_code == 422, (level, response.text)
    assert client.get("/v1/jobs", headers=member_headers).json()["items"] == []
