"""Delivery against the real Postgres and a real loopback receiver, in-process.

``deliver`` is exactly what the worker task runs, so these tests prove the
retry, give-up, redirect, SSRF and rotation rules without a worker process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest

from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.webhook_secret import WebhookSecret
from api.jobs import service as jobs_service
from api.webhooks import service
from api.webhooks.delivery import deliver, dispatch_due
from api.webhooks.signing import verify
from tests.webhooks.helpers import (
    attempts_of,
    committed_user,
    delivery_of,
    delivery_of_id,
    drive,
    finished_job,
)
from tests.webhooks.receiver import Receiver, Reply

pytestmark = pytest.mark.usefixtures("committed_db", "webhook_env")


def documented_signatures(secret: str, headers: dict[str, str], body: bytes) -> str:
    """The README's algorithm, written independently of api.webhooks.signing."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def secret_of(user_id: int) -> WebhookSecret:
    with session_scope() as session:
        return service.secret_for(session, user_id)


def test_final_event_is_signed_with_the_owners_secret_as_documented(receiver: Receiver) -> None:
    owner = committed_user()
    job_id = finished_job(owner, receiver.url)
    delivery = delivery_of(job_id)
    assert delivery.id.startswith("msg_")

    assert drive(delivery.id) == "delivered"
    (request,) = receiver.requests
    secret = secret_of(owner.id).secret
    assert request.headers["webhook-id"] == delivery.id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 30
    assert request.headers["webhook-signature"] == documented_signatures(
        secret, request.headers, request.body
    )
    payload = json.loads(request.body)
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == str(job_id)
    assert payload["data"]["status"] == "succeeded"
    assert payload["data"]["result"] == {"model_version": 1}
    assert verify(secret, request.headers, request.body) == payload


def test_retries_after_500_and_timeout_then_succeeds_with_one_webhook_id(
    receiver: Receiver,
) -> None:
    receiver.reply_with(Reply(status=500, body=b"db down"), Reply(delay=1.5), Reply(status=200))
    delivery = delivery_of(finished_job(committed_user(), receiver.url, status="failed"))

    assert drive(delivery.id) == "delivered"
    requests = receiver.requests
    assert [r.answered for r in requests] == [500, 200, 200]  # the 2nd answered too late
    assert {r.headers["webhook-id"] for r in requests} == {delivery.id}
    assert {json.loads(r.body)["type"] for r in requests} == {"job.failed"}
    attempts = attempts_of(delivery.id)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.status_code for a in attempts] == [500, None, 200]
    assert attempts[0].response_snippet == "db down"
    assert attempts[1].error is not None and attempts[1].error.startswith("timeout")
    assert all(a.duration_ms >= 0 for a in attempts)
    # Backoff: each retry started at least base * 2**(n-1) after the previous attempt ended.
    base = get_settings().webhook_backoff_base_seconds
    gap = attempts[2].started_at - attempts[1].started_at
    assert gap >= timedelta(seconds=base * 2)


def test_410_gone_stops_retrying_at_once(receiver: Receiver) -> None:
    receiver.reply_with(Reply(status=410))
    delivery = delivery_of(finished_job(committed_user(), receiver.url, status="cancelled"))
    assert deliver(delivery.id) == "abandoned"
    assert deliver(delivery.id) == "not_due"
    assert dispatch_due(utcnow() + timedelta(days=1)) == 0
    assert len(receiver.requests) == 1
    assert delivery_of_id(delivery.id).status == "abandoned"


def test_redirect_is_not_followed_and_counts_as_a_failed_attempt(receiver: Receiver) -> None:
    receiver.reply_with(Reply(status=302, headers={"Location": "http://127.0.0.1:1/x"}), Reply())
    delivery = delivery_of(finished_job(committed_user(), receiver.url))
    assert drive(delivery.id) == "delivered"
    first, second = attempts_of(delivery.id)
    assert first.status_code == 302 and first.error is not None and "not followed" in first.error
    assert second.status_code == 200
    assert [r.path for r in receiver.requests] == ["/hook", "/hook"]


def test_every_attempt_failing_ends_as_failed_after_the_configured_attempts(
    receiver: Receiver,
) -> None:
    receiver.reply_with(Reply(status=503))
    delivery = delivery_of(finished_job(committed_user(), receiver.url))
    assert drive(delivery.id) == "failed"
    assert len(receiver.requests) == get_settings().webhook_max_attempts == 4
    assert deliver(delivery.id) == "not_due"


def test_loopback_receiver_is_refused_when_not_allow_listed(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    delivery = delivery_of(finished_job(committed_user(), receiver.url))
    monkeypatch.setenv("TASADOR_WEBHOOK_ALLOWED_HOSTS", "[]")
    get_settings.cache_clear()
    assert deliver(delivery.id) == "failed"
    (attempt,) = attempts_of(delivery.id)
    assert attempt.status_code is None and attempt.error is not None
    assert attempt.error.startswith("blocked_destination: refused to call 127.0.0.1")
    assert receiver.requests == []


def test_after_rotation_both_secrets_sign_for_24_hours_then_only_the_new(
    receiver: Receiver,
) -> None:
    owner = committed_user()
    old = secret_of(owner.id).secret
    with session_scope() as session:
        rotated = service.rotate_secret(session, owner)
    new = rotated.secret
    assert new != old and rotated.previous_valid_until is not None
    assert timedelta(hours=23, minutes=59) < rotated.previous_valid_until - utcnow()

    assert drive(delivery_of(finished_job(owner, receiver.url)).id) == "delivered"
    request = receiver.requests[-1]
    signatures = request.headers["webhook-signature"].split(" ")
    assert signatures == [
        documented_signatures(new, request.headers, request.body),
        documented_signatures(old, request.headers, request.body),
    ]

    with session_scope() as session:
        row = session.get(WebhookSecret, owner.id)
        assert row is not None
        row.previous_valid_until = utcnow() - timedelta(seconds=1)
    assert drive(delivery_of(finished_job(owner, receiver.url)).id) == "delivered"
    request = receiver.requests[-1]
    assert request.headers["webhook-signature"] == documented_signatures(
        new, request.headers, request.body
    )


def test_redeliver_sends_the_same_event_once_more(receiver: Receiver) -> None:
    owner = committed_user()
    job_id = finished_job(owner, receiver.url)
    delivery = delivery_of(job_id)
    assert drive(delivery.id) == "delivered"

    receiver.reply_with(Reply(status=500))  # a failing redelivery is not retried
    with session_scope() as session:
        jobs_service.redeliver_final_event(
            session, jobs_service.get_visible(session, owner, job_id)
        )
    assert drive(delivery.id) == "failed"
    first, again = receiver.requests
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == delivery.id
    assert again.body == first.body
    assert [a.status_code for a in attempts_of(delivery.id)] == [200, 500]


def test_two_tasks_for_the_same_attempt_send_it_once(receiver: Receiver) -> None:
    receiver.reply_with(Reply(delay=0.3))
    delivery = delivery_of(finished_job(committed_user(), receiver.url))
    results: list[str] = []

    def run() -> None:
        results.append(deliver(delivery.id))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["delivered", "not_due", "not_due", "not_due"]
    assert len(receiver.requests) == 1


def test_dispatch_due_resends_only_due_attempts_and_not_twice_in_a_row(
    receiver: Receiver,
) -> None:
    receiver.reply_with(Reply(status=500), Reply())
    delivery = delivery_of(finished_job(committed_user(), receiver.url))
    assert dispatch_due() == 0  # just scheduled: its task is already on the queue
    assert deliver(delivery.id) == "pending"
    due = delivery_of_id(delivery.id).next_attempt_at
    assert dispatch_due(due - timedelta(milliseconds=1)) == 0
    assert dispatch_due(due) == 1
    assert dispatch_due(due + timedelta(seconds=1)) == 0  # already on the queue
    later = due + timedelta(hours=1)  # the queued task was lost: sent again
    assert dispatch_due(later) == 1
