"""Access tokens: short-lived HS256 JWTs signed with the service's secret key.

Claims: ``sub`` (user id), ``role``, ``iat``, ``exp``, ``jti``, ``type="access"``,
``gen`` (the user's credentials generation: a token of an earlier one, from
before the password was last set, is refused).
The role in the token is informative only: the request's user, role included,
comes from the database through the credential cache (``api.auth.cache``), so a
deactivated user or a changed role takes effect within a second.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey

from api.auth.errors import InvalidToken, TokenExpired
from api.config import get_settings

ALGORITHM = "HS256"
TOKEN_TYPE = "access"  # noqa: S105

_claims_registry = jwt.JWTClaimsRegistry(
    sub={"essential": True},
    exp={"essential": True},
    iat={"essential": True},
    type={"essential": True, "value": TOKEN_TYPE},
)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int  # seconds


def _key() -> OctKey:
    return OctKey.import_key(get_settings().secret_key.get_secret_value())


def issue_access_token(
    user_id: int, role: str, *, generation: int = 0, now: datetime | None = None
) -> AccessToken:
    now = now or datetime.now(UTC)
    lifetime = timedelta(minutes=get_settings().access_token_minutes)
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "jti": uuid.uuid4().hex,
        "type": TOKEN_TYPE,
        "gen": generation,
    }
    token = jwt.encode({"alg": ALGORITHM}, claims, _key(), algorithms=[ALGORITHM])
    return AccessToken(token=token, expires_in=int(lifetime.total_seconds()))


def read_access_expiry(token: str) -> tuple[int, int, int]:
    """(user id, credentials generation, expiry as a Unix time) of a valid access
    token; ``token_expired`` or ``invalid_token`` otherwise.

    The signature is checked before any claim, so an expired token that was
    also tampered with is reported as invalid, never as merely expired.
    """
    claims = _verified_claims(token)
    return _subject(claims), _generation(claims), int(claims["exp"])


def read_access_claims(token: str) -> tuple[int, str]:
    """(user id, role) of a valid access token, checked as ``read_access_expiry`` does.

    The role is as it was at issue time; only callers that must work without
    the database (the detail of ``/readyz``) rely on it.
    """
    claims = _verified_claims(token)
    return _subject(claims), str(claims.get("role", ""))


def _verified_claims(token: str) -> dict[str, Any]:
    try:
        decoded = jwt.decode(token, _key(), algorithms=[ALGORITHM])
    except (JoseError, ValueError) as exc:
        raise InvalidToken("the access token is malformed or its signature is wrong") from exc
    try:
        _claims_registry.validate(decoded.claims)
    except ExpiredTokenError as exc:
        raise TokenExpired("the access token has expired; refresh it or log in again") from exc
    except JoseError as exc:
        raise InvalidToken(f"the access token is not valid: {exc.description}") from exc
    return decoded.claims


def _subject(claims: dict[str, Any]) -> int:
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.isdigit():
        raise InvalidToken("the access token names no user")
    return int(subject)


def generation_claim(claims: dict[str, Any]) -> int | None:
    """The ``gen`` claim of a signed token (access token or page session), None
    when it is not an integer. Tokens from before generations carry none: 0."""
    generation = claims.get("gen", 0)
    if not isinstance(generation, int) or isinstance(generation, bool):
        return None
    return generation


def _generation(claims: dict[str, Any]) -> int:
    generation = generation_claim(claims)
    if generation is None:
        raise InvalidToken("the access token's generation is not a number")
    return generation
