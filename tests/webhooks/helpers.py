"""Committed rows and a delivery driver for service-level webhook tests.

Delivery runs in its own transactions (as in the worker), so these tests use
``committed_db`` and create users and jobs that really commit.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime

from sqlalchemy import select

from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobStatus
from api.db.tables.user import User
from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt, WebhookDelivery
from api.jobs import service as jobs_service
from api.jobs.schemas import TrainingResult
from api.webhooks import repository
from api.webhooks.delivery import deliver


def committed_user() -> User:
    with session_scope() as session:
        user = User(username=f"hooks-{uuid.uuid4().hex[:10]}", password_hash="-", role="member")
        session.add(user)
    return user


def finished_job(owner: User, url: str, status: str = "succeeded") -> uuid.UUID:
    """A job that ran and ended through the real ``finish`` path (which schedules hooks)."""
    with session_scope() as session:
        job = Job(
            owner_id=owner.id,
            kind="training",
            status="running",
            request={"train_data": "s3://tasador/x.csv", "callback_url": url},
            inputs={},
            callback_url=url,
            attempts=1,
            started_at=utcnow(),
        )
        session.add(job)
    with session_scope() as session:
        row = session.get(Job, job.id)
        assert row is not None
        result = TrainingResult(model_version=1) if status == "succeeded" else None
        error = {"code": "boom", "message": "it broke"} if status == "failed" else None
        jobs_service.finish(session, row, JobStatus(status), result=result, error=error)
    return job.id


def delivery_of(job_id: uuid.UUID) -> WebhookDelivery:
    with session_scope() as session:
        (delivery,) = repository.deliveries_for_job(session, job_id)
        return delivery


def attempts_of(delivery_id: str) -> list[WebhookAttempt]:
    with session_scope() as session:
        stmt = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery_id)
        return sorted(session.scalars(stmt), key=lambda a: a.attempt)


def drive(delivery_id: str, rounds: int = 20) -> str:
    """Run ``deliver`` as the worker would, waiting out each backoff, until it ends."""
    status = "not_due"
    for _ in range(rounds):
        status = deliver(delivery_id)
        if status not in (DeliveryStatus.PENDING, "not_due"):
            return status
        due: datetime = delivery_of_id(delivery_id).next_attempt_at
        time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 0.01)
    return status


def delivery_of_id(delivery_id: str) -> WebhookDelivery:
    with session_scope() as session:
        row = repository.get_delivery(session, delivery_id)
        assert row is not None
        return row
