"""All SQL for webhooks: secrets, deliveries, attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt, WebhookDelivery
from api.db.tables.webhook_secret import WebhookSecret


def get_secret(session: Session, user_id: int, *, for_update: bool = False) -> WebhookSecret | None:
    stmt = select(WebhookSecret).where(WebhookSecret.user_id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).first()


def add(session: Session, row: WebhookSecret | WebhookDelivery | WebhookAttempt) -> None:
    session.add(row)
    session.flush()


def get_delivery(session: Session, delivery_id: str) -> WebhookDelivery | None:
    return session.get(WebhookDelivery, delivery_id, populate_existing=True)


def deliveries_for_job(session: Session, job_id: uuid.UUID) -> Sequence[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.job_id == job_id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )
    return session.scalars(stmt).all()


def attempts_for(session: Session, delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
    if not delivery_ids:
        return found
    stmt = (
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
    )
    for row in session.scalars(stmt):
        found[row.delivery_id].append(row)
    return found


def claim(
    session: Session, delivery_id: str, *, seen_attempts: int, now: datetime, lease_until: datetime
) -> bool:
    """Take the due attempt ``seen_attempts + 1``; False if another worker has it.

    The WHERE clause repeats every condition read before, so two tasks racing
    for the same attempt cannot both win: the second matches no row.
    """
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts == seen_attempts,
            WebhookDelivery.attempts < WebhookDelivery.attempt_limit,
            WebhookDelivery.next_attempt_at <= now,
        )
        .values(attempts=seen_attempts + 1, next_attempt_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def conclude(
    session: Session,
    delivery_id: str,
    *,
    attempt: int,
    status: DeliveryStatus,
    next_attempt_at: datetime,
    finished_at: datetime | None,
) -> bool:
    """Store the result of ``attempt`` unless a later attempt has been claimed since."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.attempts == attempt,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .values(
            status=status,
            next_attempt_at=next_attempt_at,
            finished_at=finished_at,
            dispatched_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def due(
    session: Session, *, now: datetime, dispatched_before: datetime, limit: int
) -> Sequence[str]:
    """Pending deliveries whose attempt is due and not recently sent to the queue."""
    stmt = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            or_(
                WebhookDelivery.dispatched_at.is_(None),
                WebhookDelivery.dispatched_at < dispatched_before,
            ),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return session.scalars(stmt).all()


def mark_dispatched(session: Session, delivery_ids: Sequence[str], now: datetime) -> None:
    if delivery_ids:
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id.in_(delivery_ids))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
