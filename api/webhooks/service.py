"""Webhook rules: the event a job's end produces, signing secrets, redelivery. Never commits.

The jobs domain calls in here when a job ends (``api.jobs.service.finish``) and
hands over the job's snapshot; nothing here imports the jobs domain, so
webhooks sit below jobs in the dependency graph.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import queue
from api.auth.identity import Account
from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.job import Job
from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt, WebhookDelivery
from api.db.tables.webhook_secret import WebhookSecret
from api.webhooks import repository
from api.webhooks.signing import generate_secret

# How long a rotated-out secret keeps signing, so receivers can switch over.
ROTATION_OVERLAP = timedelta(hours=24)


def event_type(status: str) -> str:
    return f"job.{status}"


def new_delivery_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def schedule_final_event(session: Session, job: Job, snapshot: dict[str, Any]) -> WebhookDelivery:
    """Record the final event of a job that just ended and send it once the
    transaction commits.

    ``snapshot`` is the job as its owner sees it polling, frozen now: retries
    resend what the job looked like when it ended, whatever happens to the row later.
    """
    if not job.callback_url:
        raise ValueError(f"job {job.id} has no callback_url to deliver to")
    now = utcnow()
    delivery = WebhookDelivery(
        id=new_delivery_id(),
        job_id=job.id,
        owner_id=job.owner_id,
        event=event_type(job.status),
        url=job.callback_url,
        payload={"type": event_type(job.status), "data": snapshot},
        status=DeliveryStatus.PENDING,
        attempts=0,
        attempt_limit=get_settings().webhook_max_attempts,
        next_attempt_at=now,
        dispatched_at=now,
        created_at=now,
    )
    repository.add(session, delivery)
    queue.defer_send(session, queue.TASK_DELIVER_WEBHOOK, [delivery.id], queue.QUEUE_WEBHOOKS)
    return delivery


def secret_for(session: Session, user_id: int) -> WebhookSecret:
    """The user's signing secret, created on first use."""
    row = repository.get_secret(session, user_id)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = WebhookSecret(user_id=user_id, secret=generate_secret(), created_at=utcnow())
            repository.add(session, row)
        return row
    except IntegrityError:
        # Another request created it first; theirs is the secret.
        found = repository.get_secret(session, user_id)
        if found is None:
            raise
        return found


def rotate_secret(session: Session, user: Account) -> WebhookSecret:
    """Issue a new secret; the current one keeps signing for ``ROTATION_OVERLAP``."""
    secret_for(session, user.id)
    row = repository.get_secret(session, user.id, for_update=True)
    assert row is not None
    now = utcnow()
    row.previous_secret = row.secret
    row.previous_valid_until = now + ROTATION_OVERLAP
    row.secret = generate_secret()
    row.rotated_at = now
    session.flush()
    return row


def signing_secrets(row: WebhookSecret, now: datetime) -> list[str]:
    """Every secret that signs a message sent at ``now``, newest first."""
    secrets = [row.secret]
    if row.previous_secret and row.previous_valid_until and row.previous_valid_until > now:
        secrets.append(row.previous_secret)
    return secrets


@dataclass
class DeliveryHistory:
    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]


def history(session: Session, job: Job) -> list[DeliveryHistory]:
    """The job's deliveries, each with every attempt made (the caller may see the job)."""
    deliveries = repository.deliveries_for_job(session, job.id)
    attempts = repository.attempts_for(session, [d.id for d in deliveries])
    return [DeliveryHistory(d, attempts[d.id]) for d in deliveries]


def delivery_history(session: Session, delivery: WebhookDelivery) -> DeliveryHistory:
    """One delivery with every attempt made."""
    return DeliveryHistory(delivery, repository.attempts_for(session, [delivery.id])[delivery.id])


def redeliver(session: Session, job: Job, snapshot: dict[str, Any]) -> WebhookDelivery:
    """Send the final event of a job that ended once more, with the same ``webhook-id``.

    One extra attempt is granted (not a fresh retry budget): the caller asked
    for one more try and sees its result in the delivery history. ``snapshot``
    is used only when the job has no delivery yet.
    """
    deliveries = repository.deliveries_for_job(session, job.id)
    if not deliveries:
        return schedule_final_event(session, job, snapshot)
    delivery = deliveries[-1]
    session.refresh(delivery, with_for_update=True)
    now = utcnow()
    # A delivery still retrying keeps its remaining budget; an ended one gets one more.
    budget = delivery.attempt_limit if delivery.status == DeliveryStatus.PENDING else 0
    delivery.attempt_limit = max(budget, delivery.attempts + 1)
    delivery.status = DeliveryStatus.PENDING
    delivery.finished_at = None
    delivery.next_attempt_at = now
    delivery.dispatched_at = now
    session.flush()
    queue.defer_send(session, queue.TASK_DELIVER_WEBHOOK, [delivery.id], queue.QUEUE_WEBHOOKS)
    return delivery
