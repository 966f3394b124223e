"""Task messages published with one LPUSH (``api.queue_redis``) are the ones Celery
sends, and a real worker runs them."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import redis
from celery import Celery
from fastapi.testclient import TestClient

from api import queue, queue_redis
from api.config import get_settings
from api.ml.synth import generate
from tests.fixtures.worker import Worker, log_in_committed_member, wait_for_job
from tests.jobs.conftest import FAST_PARAMS, csv_bytes

_PER_MESSAGE = {"id", "root_id", "origin"}  # headers that differ from one send to the next
_PER_DELIVERY = {"correlation_id", "reply_to", "delivery_tag"}


def _sent_by_celery(url: str, queue_name: str, args: list[Any]) -> dict[str, Any]:
    app = Celery("reference", broker=url)
    app.conf.update(task_serializer="json", accept_content=["json"])
    app.send_task(queue.TASK_RUN_TRAINING, args=args, queue=queue_name)
    raw = redis.Redis.from_url(url).rpop(queue_name)
    assert isinstance(raw, bytes)
    message: dict[str, Any] = json.loads(raw)
    return message


@pytest.mark.services
def test_the_message_is_the_one_celery_sends(flushed_broker: None) -> None:
    url = get_settings().broker_url
    args = ["0b8f4c1e-6a7d-4f55-9d0e-1f2a3b4c5d6e"]
    expected = _sent_by_celery(url, "publish-probe", args)
    task_id = queue_redis.publish(url, queue.TASK_RUN_TRAINING, args, "publish-probe")
    raw = redis.Redis.from_url(url).rpop("publish-probe")
    assert isinstance(raw, bytes)
    ours = json.loads(raw)
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == task_id
    assert ours["properties"]["correlation_id"] == task_id
    assert base64.b64decode(ours["body"]) == base64.b64decode(expected["body"])
    for part, varying in (("headers", _PER_MESSAGE), ("properties", _PER_DELIVERY)):
        assert set(ours[part]) == set(expected[part])
        assert {k: v for k, v in ours[part].items() if k not in varying} == {
            k: v for k, v in expected[part].items() if k not in varying
        }
    named = queue_redis.publish(
        url, queue.TASK_RUN_TRAINING, args, "publish-probe", task_id=args[0]
    )
    raw = redis.Redis.from_url(url).rpop("publish-probe")
    assert isinstance(raw, bytes) and named == args[0]
    assert json.loads(raw)["headers"]["id"] == args[0]  # a job's task carries the job id
    same = {k: v for k, v in ours.items() if k not in {"headers", "properties", "body"}}
    assert same == {k: v for k, v in expected.items() if k not in {"headers", "properties", "body"}}


@pytest.mark.services
def test_a_countdown_or_another_broker_goes_through_celery(monkeypatch: Any) -> None:
    sent: list[tuple[str, Any]] = []

    class Producer:
        def send_task(self, name: str, **options: Any) -> None:
            sent.append((name, options.get("countdown")))

    monkeypatch.setattr(queue, "producer", Producer)
    monkeypatch.setattr(queue_redis, "publish", lambda *_: pytest.fail("published directly"))
    queue.send(queue.TASK_DELIVER_WEBHOOK, ["x"], queue.QUEUE_WEBHOOKS, countdown=2.0)
    assert sent == [(queue.TASK_DELIVER_WEBHOOK, 2.0)]
    assert not queue_redis.is_redis("amqp://guest@127.0.0.1//")


@pytest.mark.integration
def test_a_submitted_job_reaches_a_real_worker_without_celerys_producer(
    live_client: TestClient, start_worker: Callable[..., Worker], monkeypatch: Any
) -> None:
    monkeypatch.setattr(queue, "producer", lambda: pytest.fail("sent through Celery"))
    start_worker(queues="training", concurrency=1)
    headers = log_in_committed_member(live_client)
    files = {"file": ("homes.csv", csv_bytes(generate(1_200, seed=3)), "text/csv")}
    uploaded = live_client.post("/v1/datasets", files=files, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    body = {"train_data": uploaded.json()["uri"], "params": FAST_PARAMS}
    submitted = live_client.post("/v1/jobs/training", json=body, headers=headers)
    assert submitted.status_code == 202, submitted.text
    assert "Retry-After" not in submitted.headers  # the send succeeded
    job = wait_for_job(live_client, headers, submitted.json()["id"])
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1
