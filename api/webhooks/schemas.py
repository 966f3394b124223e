"""Response bodies of the webhooks API (see docs/api.md, Webhooks)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.db.tables.webhook_delivery import DeliveryStatus, WebhookAttempt, WebhookDelivery


class SecretOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    secret: str = Field(description="whsec_... : verify webhook-signature with it")
    created_at: datetime
    rotated_at: datetime | None = None
    previous_valid_until: datetime | None = Field(
        default=None, description="until then, messages also carry a signature by the old secret"
    )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    started_at: datetime
    status_code: int | None = Field(description="the receiver's answer; null when none came")
    error: str | None = Field(description="why the attempt did not succeed, when it did not")
    duration_ms: int
    response_snippet: str | None = Field(description="first 1 KB of the receiver's answer")


class DeliveryOut(BaseModel):
    id: str = Field(description="the webhook-id header; the same on every retry")
    event: str
    url: str
    status: DeliveryStatus
    created_at: datetime
    next_attempt_at: datetime | None = Field(description="when the next retry is due, if pending")
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event=delivery.event,
            url=delivery.url,
            status=delivery.status,
            created_at=delivery.created_at,
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status == DeliveryStatus.PENDING else None
            ),
            attempts=[AttemptOut.model_validate(a) for a in attempts],
        )


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
