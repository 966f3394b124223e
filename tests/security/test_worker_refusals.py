"""The worker asks the ownership rules again before it reads or writes anything.

Job rows are written straight into the database here, as a bug or an old
release might have left them, so submit's checks never ran: the worker alone
must refuse them, and the objects they aimed at must come through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.db.session import session_scope
from api.db.tables.job import Job, JobKind, JobStatus
from api.jobs import service as jobs_service
from api.registry import service as registry_service
from tests.fixtures.worker import Worker, log_in_committed_member, wait_for_job
from tests.security.tenants import aliases, sha256_of, store_model, upload

pytestmark = pytest.mark.integration

HOME = {
    "type": "casa",
    "sector": "vitacura",
    "net_usable_area": 150.0,
    "net_area": 300.0,
    "n_rooms": 4.0,
    "n_bathroom": 3.0,
    "latitude": -33.39,
    "longitude": -70.57,
}


def queue_job(owner_id: int, kind: str, request: dict[str, Any], version: int | None) -> str:
    """A job row that skipped submit, sent to the worker like any other."""
    with session_scope() as session:
        job = Job(
            owner_id=owner_id,
            kind=kind,
            status=JobStatus.QUEUED,
            request=request,
            inputs={},
            model_version=version,
        )
        session.add(job)
        session.flush()
        jobs_service.enqueue(session, job)
        return str(job.id)


def test_the_worker_refuses_jobs_that_reach_beyond_their_owner_and_changes_nothing(
    live_client: TestClient, start_worker: Callable[..., Worker], tiny_artifact: bytes
) -> None:
    client = live_client
    a_headers, b_headers = log_in_committed_member(client, "a"), log_in_committed_member(client)
    b_id = client.get("/v1/users/me", headers=b_headers).json()["id"]
    a_data = upload(client, a_headers, seed=3)
    b_data = upload(client, b_headers, seed=4)
    with session_scope() as session:
        model = store_model(session, tiny_artifact)
        aliases_before = aliases(session)
    artifact_before = sha256_of(model.artifact_uri)
    served_before = client.post("/v1/predictions", json={"instances": [HOME]}, headers=b_headers)
    assert served_before.status_code == 200, served_before.text

    batch, training = JobKind.BATCH_INFERENCE, JobKind.TRAINING
    refused = {
        "over A's dataset": queue_job(
            b_id, batch, {"input_data": b_data["uri"], "output_data": a_data["uri"]}, model.version
        ),
        "over the artifact": queue_job(
            b_id,
            batch,
            {"input_data": b_data["uri"], "output_data": model.artifact_uri},
            model.version,
        ),
        "reading A's dataset": queue_job(b_id, training, {"train_data": a_data["uri"]}, None),
        # B's own data: promotion is the only thing wrong with this one.
        "promoting": queue_job(
            b_id, training, {"train_data": b_data["uri"], "promote": "always"}, None
        ),
    }
    allowed = queue_job(b_id, batch, {"input_data": b_data["uri"]}, model.version)
    start_worker()

    ended = {name: wait_for_job(client, b_headers, job_id) for name, job_id in refused.items()}
    codes = {name: (job["status"], (job["error"] or {}).get("code")) for name, job in ended.items()}
    assert codes == {
        "over A's dataset": ("failed", "access_denied"),
        "over the artifact": ("failed", "access_denied"),
        "reading A's dataset": ("failed", "access_denied"),
        "promoting": ("failed", "forbidden"),
    }
    # The refusal says what B may use, and nothing about whether A's object exists.
    message = ended["reading A's dataset"]["error"]["message"]
    assert "you may not read" in message and "not found" not in message
    done = wait_for_job(client, b_headers, allowed)
    assert done["status"] == "succeeded", done  # the worker itself is fine
    assert done["result"]["output_data"].startswith(f"s3://tasador/outputs/{b_id}/{allowed}/")

    assert sha256_of(a_data["uri"]) == a_data["sha256"]
    assert sha256_of(model.artifact_uri) == artifact_before
    with session_scope() as session:
        assert aliases(session) == aliases_before
        assert registry_service.resolve(session, "production").version == model.version
    served_after = client.post("/v1/predictions", json={"instances": [HOME]}, headers=b_headers)
    assert served_after.json() == served_before.json()
