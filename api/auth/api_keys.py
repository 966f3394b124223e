"""API keys: create (shown once), list, revoke, and authenticate a presented key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.auth import repository
from api.auth.errors import InvalidToken, TokenExpired
from api.auth.identity import Account, SignedInUser
from api.auth.opaque import API_KEY_PREFIX, digest, display_prefix, new_secret
from api.db.base import utcnow
from api.db.tables.api_key import ApiKey
from api.db.tables.user import User
from api.errors import NotFound
from api.logging import get_logger

log = get_logger("api.audit")

# last_used_at is precise to this much; see repository.touch_api_key.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create(
    session: Session, user: Account, name: str, expires_in_days: int, client_address: str
) -> tuple[ApiKey, str]:
    """The stored row and the key itself, which is not kept and cannot be shown again."""
    now = utcnow()
    secret = new_secret(API_KEY_PREFIX)
    key = ApiKey(
        user_id=user.id,
        name=name,
        prefix=display_prefix(secret),
        key_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    repository.add_api_key(session, key)
    log.info(
        "api_key_created",
        user_id=user.id,
        key_id=key.id,
        key_prefix=key.prefix,
        expires_at=key.expires_at.isoformat(),
        client=client_address,
    )
    return key, secret


def list_for(session: Session, user: Account) -> Sequence[ApiKey]:
    return repository.active_api_keys(session, user.id)


def list_all(session: Session, limit: int = 500) -> list[tuple[ApiKey, User]]:
    """Every unrevoked key and its owner, for the admin overview (hashes are never shown)."""
    return repository.unrevoked_api_keys_with_owners(session, limit)


def revoke(session: Session, user: Account, key_id: int, client_address: str) -> None:
    """Revoke one of the caller's keys (an admin may revoke anyone's)."""
    key = repository.api_key(session, key_id)
    visible = key is not None and (key.user_id == user.id or user.is_admin)
    if key is None or not visible or key.revoked_at is not None:
        # Someone else's key answers exactly like a missing one.
        raise NotFound(f"no active API key with id {key_id}", code="api_key_not_found")
    key.revoked_at = utcnow()
    log.info(
        "api_key_revoked",
        user_id=user.id,
        owner_id=key.user_id,
        key_id=key.id,
        key_prefix=key.prefix,
        client=client_address,
    )


@dataclass(frozen=True, slots=True)
class KeyHolder:
    """What a valid API key resolved to; the credential cache keeps it briefly."""

    user: SignedInUser
    expires_at: datetime


def key_hash(presented: str) -> str:
    """The stored hash of a presented key, refusing what cannot be one of ours."""
    if not presented.startswith(API_KEY_PREFIX):
        raise InvalidToken(f"an API key starts with {API_KEY_PREFIX!r}")
    return digest(presented)


def holder_of(session: Session, presented_hash: str) -> KeyHolder:
    """Look the key up: refused when unknown, revoked, expired or its user is disabled.

    Records the use when the stored one is older than ``LAST_USED_RESOLUTION``;
    the cache in front of this makes that a write at most once a minute, on a
    lookup, never on the request path of a cached key.
    """
    found = repository.api_key_and_owner(session, presented_hash)
    if found is None:
        raise InvalidToken("the API key is not recognised")
    key, user = found
    if key.revoked_at is not None:
        raise InvalidToken("the API key was revoked")
    now = utcnow()
    holder = KeyHolder(SignedInUser.of(user), key.expires_at)
    check_unexpired(holder, now)
    if not user.is_active:
        raise InvalidToken("the account of this API key is disabled")
    stale_before = now - LAST_USED_RESOLUTION
    if key.last_used_at is None or key.last_used_at < stale_before:
        repository.touch_api_key(session, key.id, now, stale_before=stale_before)
    return holder


def check_unexpired(holder: KeyHolder, now: datetime) -> None:
    """Checked on every request: a cached key must not outlive its expiry."""
    if holder.expires_at <= now:
        raise TokenExpired(f"the API key expired at {holder.expires_at.isoformat()}")
