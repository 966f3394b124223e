"""Webhook deliveries (one per event) and every attempt made to deliver them.

The delivery row is the retry schedule: ``next_attempt_at`` says when the next
attempt is due, and a conditional update on ``attempts`` lets exactly one
worker claim it. Keeping the schedule here rather than in broker ETAs means
retries survive worker restarts and broker flushes.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, enum_text, utcnow


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # an attempt is due now or later
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # attempts used up, or the address is refused
    ABANDONED = "abandoned"  # the receiver answered 410 Gone


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_status_due", "status", "next_attempt_at"),)

    # The stable ``webhook-id`` header: the same on every retry and redelivery.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    # Frozen when the job ended, so every retry sends the same job snapshot.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_text(DeliveryStatus, 16), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Attempts allowed in total; a redelivery raises it by one.
    attempt_limit: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When a task was last sent for the due attempt, so the dispatcher does not
    # pile up messages for a delivery that is merely waiting in the queue.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (
        UniqueConstraint("delivery_id", "attempt", name="uq_webhook_attempts_delivery_attempt"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_snippet: Mapped[str | None] = mapped_column(Text, default=None)
