"""Signatures a receiver can check with the documented algorithm alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from api.webhooks.signing import (
    WebhookVerificationError,
    build_headers,
    generate_secret,
    verify,
)

BODY = json.dumps({"type": "job.succeeded", "data": {"id": "abc"}}).encode()


def documented_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """API.md / README: HMAC-SHA256, key = base64-decoded part after whsec_."""
    key = base64.b64decode(secret[len("whsec_") :])
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_generated_secrets_are_whsec_with_32_random_bytes_and_never_repeat() -> None:
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:], validate=True)) == 32


def test_signature_header_is_the_documented_hmac() -> None:
    secret, now = generate_secret(), int(time.time())
    headers = build_headers([secret], "msg_1", now, BODY)
    assert headers["webhook-id"] == "msg_1"
    assert headers["webhook-timestamp"] == str(now)
    assert headers["webhook-signature"] == documented_signature(secret, "msg_1", now, BODY)


def test_verify_accepts_any_header_case_and_returns_the_payload() -> None:
    secret, now = generate_secret(), int(time.time())
    headers = {k.upper(): v for k, v in build_headers([secret], "msg_2", now, BODY).items()}
    assert verify(secret, headers, BODY) == json.loads(BODY)


def test_during_rotation_both_secrets_verify_the_same_message() -> None:
    new, old, now = generate_secret(), generate_secret(), int(time.time())
    headers = build_headers([new, old], "msg_3", now, BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert signatures == [
        documented_signature(new, "msg_3", now, BODY),
        documented_signature(old, "msg_3", now, BODY),
    ]
    assert verify(new, headers, BODY) == verify(old, headers, BODY)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: (h, b + b" "), "no signature matches"),
        (lambda h, b: ({**h, "webhook-id": "msg_other"}, b), "no signature matches"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "webhook-id"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "not an integer"),
    ],
    ids=["body-changed", "id-changed", "id-missing", "timestamp-garbled"],
)
def test_verify_refuses_a_message_that_was_altered(change: Any, reason: str) -> None:
    secret = generate_secret()
    headers, body = change(build_headers([secret], "msg_4", int(time.time()), BODY), BODY)
    with pytest.raises(WebhookVerificationError, match=reason):
        verify(secret, headers, body)


def test_verify_refuses_another_secret_and_a_replayed_old_message() -> None:
    secret, now = generate_secret(), int(time.time())
    headers = build_headers([secret], "msg_5", now, BODY)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify(generate_secret(), headers, BODY)
    with pytest.raises(WebhookVerificationError, match="outside the accepted window"):
        verify(secret, headers, BODY, now=now + 301)
