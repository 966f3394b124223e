"""A real job, a real worker, a receiver that is down at first.

The job must end without waiting for its webhook, and once the receiver comes
up the final event must arrive exactly once, signed, with every failed attempt
before it on record.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import get_settings
from api.db.session import session_scope
from api.main import create_app
from api.ml.synth import generate
from api.storage import get_store
from api.webhooks.delivery import dispatch_due
from api.webhooks.signing import verify
from tests.fixtures.worker import Worker, log_in_committed_member, own_data_uri, wait_for_job
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_endpoints import with_routes

pytestmark = pytest.mark.integration


@pytest.fixture
def hooks_live_client(
    committed_db: Any, s3_settings: Any, flushed_broker: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """Like ``live_client``, with loopback callbacks allowed in the API process too."""
    monkeypatch.setenv("TASADOR_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("TASADOR_WEBHOOK_ALLOWED_HOSTS", '["127.0.0.1"]')
    get_settings.cache_clear()
    with TestClient(with_routes(create_app())) as client:
        yield client
    get_settings.cache_clear()


def login(client: TestClient) -> dict[str, str]:
    return log_in_committed_member(client, prefix="hooks")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def poll_deliveries(
    client: TestClient,
    headers: dict[str, str],
    job_id: str,
    until: Callable[[dict[str, Any]], bool],
    timeout: float = 40,
) -> dict[str, Any]:
    """Read the job's delivery while playing the worker's periodic dispatcher."""
    deadline = time.monotonic() + timeout
    while True:
        dispatch_due()
        items = client.get(f"/v1/jobs/{job_id}/deliveries", headers=headers).json()["items"]
        if items and until(items[0]):
            return dict(items[0])
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery did not get there in {timeout}s: {items}")
        time.sleep(0.1)


def test_receiver_down_at_first_still_gets_exactly_one_delivery_and_the_job_never_waits(
    hooks_live_client: TestClient, start_worker: Callable[..., Worker]
) -> None:
    client = hooks_live_client
    headers = login(client)
    secret = client.get("/v1/webhooks/secret", headers=headers).json()["secret"]
    data = io.StringIO()
    generate(800, seed=3).to_csv(data, index=False)
    uri = own_data_uri(client, headers)
    get_store().put_bytes(uri, data.getvalue().encode())
    port = free_port()
    start_worker()

    body = {
        "train_data": uri,
        "params": {"n_estimators": 20, "max_depth": 3},
        "callback_url": f"http://127.0.0.1:{port}/hook",
    }
    submitted = client.post("/v1/jobs/training", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = wait_for_job(client, headers, submitted.json()["id"])
    assert job["status"] == "succeeded", job  # ended while nobody was listening

    down = poll_deliveries(client, headers, job["id"], lambda d: len(d["attempts"]) >= 2)
    assert down["status"] == "pending"
    assert all(a["error"].startswith("connection_error") for a in down["attempts"])

    receiver = Receiver(port).start()
    try:
        done = poll_deliveries(client, headers, job["id"], lambda d: d["status"] != "pending")
        time.sleep(1.0)  # any duplicate would have been sent by now
        for _ in range(5):
            dispatch_due()
            time.sleep(0.1)
        (request,) = receiver.requests
    finally:
        receiver.stop()
    assert done["status"] == "delivered"
    assert [a["status_code"] for a in done["attempts"]][-1] == 200
    assert sum(a["status_code"] == 200 for a in done["attempts"]) == 1
    assert request.headers["webhook-id"] == done["id"]
    payload = verify(secret, request.headers, request.body)
    assert payload["type"] == "job.succeeded" and payload["data"]["id"] == job["id"]
    assert payload["data"]["result"]["model_version"] == job["result"]["model_version"]


def test_worker_retries_a_failing_receiver_until_one_success_after_a_cancel(
    hooks_live_client: TestClient, start_worker: Callable[..., Worker]
) -> None:
    from api.db.tables.job import Job
    from tests.webhooks.receiver import Reply

    client = hooks_live_client
    headers = login(client)
    owner_id = client.get("/v1/users/me", headers=headers).json()["id"]
    receiver = Receiver().start()
    receiver.reply_with(Reply(status=500), Reply(status=502), Reply(status=200))
    try:
        with session_scope() as session:
            job = Job(
                owner_id=owner_id,
                kind="batch_inference",
                status="queued",
                request={"input_data": "s3://tasador/none.csv", "callback_url": receiver.url},
                inputs={},
                callback_url=receiver.url,
            )
            session.add(job)
        start_worker(queues="webhooks", concurrency=1)
        cancelled = client.post(f"/v1/jobs/{job.id}/cancel", headers=headers)
        assert cancelled.status_code == 200, cancelled.text

        done = poll_deliveries(client, headers, str(job.id), lambda d: d["status"] != "pending")
        time.sleep(0.5)
        dispatch_due()
        time.sleep(0.5)
        assert done["status"] == "delivered"
        assert [a["status_code"] for a in done["attempts"]] == [500, 502, 200]
        assert [r.answered for r in receiver.requests] == [500, 502, 200]
        assert {r.headers["webhook-id"] for r in receiver.requests} == {done["id"]}
        assert verify(secret_for(client, headers), receiver.requests[-1].headers,
                      receiver.requests[-1].body)["type"] == "job.cancelled"  # fmt: skip
    finally:
        receiver.stop()


def secret_for(client: TestClient, headers: dict[str, str]) -> str:
    return str(client.get("/v1/webhooks/secret", headers=headers).json()["secret"])
