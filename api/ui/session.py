"""The browser session of the web interface: a signed cookie, and CSRF tokens for its forms.

The cookie holds a JWT of its own type (``ui_session``), so neither an API access
token nor a session cookie is accepted where the other is expected. It is set
only by the password form of ``/ui/login``: holding an API key gives no session.
The cookie is HttpOnly (no script reads it) and SameSite=Lax (no other site's
form posts with it); each form also carries a CSRF token derived from the
session, checked on every POST.

The session names a user; whether that user is still active, and their role,
is read on each request through the same credential cache as the API's, so a
disabled account loses its pages within a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

from api.auth.tokens import generation_claim
from api.config import get_settings

COOKIE_NAME: Final[str] = "tasador_session"
LOGIN_CSRF_COOKIE: Final[str] = "tasador_login_csrf"
SESSION_TYPE: Final[str] = "ui_session"
SESSION_LIFETIME: Final[timedelta] = timedelta(hours=8)
_ALGORITHM: Final[str] = "HS256"

_claims_registry = jwt.JWTClaimsRegistry(
    sub={"essential": True},
    exp={"essential": True},
    jti={"essential": True},
    type={"essential": True, "value": SESSION_TYPE},
)


@dataclass(frozen=True)
class UiSession:
    user_id: int
    session_id: str
    generation: int


def _secret() -> bytes:
    return get_settings().secret_key.get_secret_value().encode()


def issue(user_id: int, *, generation: int = 0, now: datetime | None = None) -> str:
    """A new session cookie value for ``user_id``."""
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int((now + SESSION_LIFETIME).timestamp()),
        "jti": uuid.uuid4().hex,
        "type": SESSION_TYPE,
        "gen": generation,
    }
    return jwt.encode({"alg": _ALGORITHM}, claims, OctKey.import_key(_secret()), [_ALGORITHM])


def read(cookie: str | None) -> UiSession | None:
    """The session a cookie holds, or None when it is missing, forged, expired or of
    another token type."""
    if not cookie:
        return None
    try:
        decoded = jwt.decode(cookie, OctKey.import_key(_secret()), algorithms=[_ALGORITHM])
        _claims_registry.validate(decoded.claims)
    except (JoseError, ValueError):
        return None
    subject = decoded.claims["sub"]
    if not isinstance(subject, str) or not subject.isdigit():
        return None
    generation = generation_claim(decoded.claims)
    if generation is None:
        return None
    return UiSession(int(subject), str(decoded.claims["jti"]), generation)


def csrf_token(session_id: str) -> str:
    """The CSRF token of a session's forms: a MAC of its id, so nothing is stored."""
    return hmac.new(_secret(), f"csrf:{session_id}".encode(), hashlib.sha256).hexdigest()


def csrf_matches_token(expected: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(expected, presented or "")


def new_login_nonce() -> str:
    """The login form's CSRF value, also set as a short-lived cookie (double submit)."""
    return secrets.token_urlsafe(24)
