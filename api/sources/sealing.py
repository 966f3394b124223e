"""Sealing source passwords at rest (Fernet: AES-128-CBC with an HMAC).

The key is derived from ``TASADOR_SOURCE_KEY``, so any string an operator sets
works; production refuses the development default. A password sealed under
another key cannot be opened: that answers ``source_unusable`` rather than a
crash.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from api.config import get_settings
from api.errors import InvalidInput


def _fernet() -> Fernet:
    secret = get_settings().source_key.get_secret_value().encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret).digest()))


def seal(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode("ascii")


def unseal(sealed: str, source: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except InvalidToken as exc:
        raise InvalidInput(
            f"source {source}: its password was sealed under another TASADOR_SOURCE_KEY; "
            "register the source again",
            code="source_unusable",
        ) from exc
