"""Standard Webhooks signatures: how a receiver knows a call came from us.

A secret is ``whsec_`` followed by base64 of 32 random bytes; the HMAC key is
those decoded bytes (as in the Standard Webhooks libraries, so a receiver may
use one of them instead of this module). The signed content is
``"{webhook-id}.{webhook-timestamp}.{body}"`` and the header carries
``v1,<base64 HMAC-SHA256>``; during a secret rotation it carries one such
signature per valid secret, separated by spaces, and a receiver accepts the
call when any of them matches a secret it knows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any

SECRET_PREFIX = "whsec_"  # noqa: S105  (a format marker, not a secret)
SIGNATURE_VERSION = "v1"
# Receivers refuse a timestamp further than this from their clock, which bounds
# how long a captured request can be replayed.
DEFAULT_TOLERANCE_SECONDS = 5 * 60


class WebhookVerificationError(Exception):
    """The request was not signed by the holder of the secret (or is too old)."""


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise ValueError("webhook secret is not whsec_ followed by base64") from exc


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of a message."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_header(secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: one signature per valid secret."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_)


def build_headers(
    secrets_: Iterable[str], msg_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> Any:
    """Check a received webhook and return its decoded JSON payload.

    ``headers`` may use any letter case. Raises ``WebhookVerificationError``
    when a header is missing, the timestamp is outside the tolerance, or no
    signature in the header matches ``secret``.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        raw_timestamp = lowered["webhook-timestamp"]
        header = lowered["webhook-signature"]
    except KeyError as exc:
        raise WebhookVerificationError(f"missing header {exc.args[0]}") from exc
    try:
        timestamp = int(raw_timestamp)
    except ValueError as exc:
        raise WebhookVerificationError("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise WebhookVerificationError("webhook-timestamp is outside the accepted window")
    expected = sign(secret, msg_id, timestamp, body).split(",", 1)[1]
    for candidate in header.split():
        version, _, value = candidate.partition(",")
        if version == SIGNATURE_VERSION and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise WebhookVerificationError("no signature matches the secret")
