"""Opaque secrets (refresh tokens, API keys): generation and the hash we store.

These are 256-bit random values, so a plain SHA-256 is enough to store them:
there is no dictionary to try, unlike a password. Lookups go through the hash,
so comparing a presented secret never compares the secret itself.
"""

from __future__ import annotations

import hashlib
import secrets

API_KEY_PREFIX = "tsk_"
REFRESH_TOKEN_PREFIX = "tsr_"  # noqa: S105  (a label, not a secret)
# Characters of the key kept for display: "tsk_" and 8 random characters.
DISPLAY_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(api_key: str) -> str:
    return api_key[:DISPLAY_PREFIX_LENGTH]
