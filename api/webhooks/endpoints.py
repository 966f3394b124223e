"""Webhook routes: the signing secret, and each job's delivery history."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from api.auth.dependencies import CurrentUser
from api.db.tables.webhook_delivery import DeliveryStatus
from api.dependencies import DbSession
from api.webhooks import service
from api.webhooks.schemas import AttemptOut, DeliveryList, DeliveryOut, SecretOut

router = APIRouter(tags=["webhooks"])


@router.get("/v1/webhooks/secret", response_model=SecretOut)
def get_secret(session: DbSession, user: CurrentUser) -> SecretOut:
    """Your webhook signing secret (`whsec_...`). Every webhook for your jobs
    carries `webhook-signature: v1,<base64 HMAC-SHA256>` of
    `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed with the base64-decoded
    part after `whsec_`."""
    return SecretOut.model_validate(service.secret_for(session, user.id))


@router.post("/v1/webhooks/secret/rotate", response_model=SecretOut)
def rotate_secret(session: DbSession, user: CurrentUser) -> SecretOut:
    """Replace your signing secret. For 24 hours the old secret keeps signing
    too (both signatures in `webhook-signature`, space-separated), so you can
    deploy the new one without missing a webhook."""
    return SecretOut.model_validate(service.rotate_secret(session, user))


def _out(item: service.DeliveryHistory) -> DeliveryOut:
    d = item.delivery
    return DeliveryOut(
        id=d.id,
        event=d.event,
        url=d.url,
        status=d.status,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.PENDING else None,
        attempts=[AttemptOut.model_validate(a) for a in item.attempts],
    )


@router.get("/v1/jobs/{job_id}/deliveries", response_model=DeliveryList)
def list_deliveries(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> DeliveryList:
    """The webhook deliveries of one of your jobs, with every attempt: when,
    the status code or error, how long it took, and the start of the answer."""
    return DeliveryList(items=[_out(h) for h in service.history(session, user, job_id)])


@router.post(
    "/v1/jobs/{job_id}/deliveries/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
)
def redeliver(session: DbSession, user: CurrentUser, job_id: uuid.UUID) -> DeliveryOut:
    """Send the job's final event once more (same `webhook-id`, so a receiver
    that de-duplicates sees it as the same event). `409` if the job has not
    ended or has no `callback_url`."""
    delivery = service.redeliver(session, user, job_id)
    history = service.history(session, user, job_id)
    item = next(h for h in history if h.delivery.id == delivery.id)
    return _out(item)
