"""Webhook routes: the signing secret. A job's deliveries are job routes
(``api.jobs.endpoints``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.dependencies import CurrentUser
from api.dependencies import DbSession
from api.webhooks import service
from api.webhooks.schemas import SecretOut

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
