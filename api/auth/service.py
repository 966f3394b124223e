"""Logging in, refreshing, and turning a presented credential into a user.

Services never commit; the endpoints keep the writes of a *failed* login or a
detected refresh-token reuse by committing before the error is answered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.auth import repository, throttle
from api.auth.errors import InvalidCredentials, InvalidToken, TokenExpired
from api.auth.identity import SignedInUser
from api.auth.opaque import REFRESH_TOKEN_PREFIX, digest, new_secret
from api.auth.passwords import verify_password
from api.auth.tokens import issue_access_token
from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.refresh_token import RefreshToken
from api.db.tables.user import User
from api.logging import get_logger

log = get_logger("api.audit")


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _issue_pair(session: Session, user: User, family_id: uuid.UUID, now: datetime) -> TokenPair:
    generation = user.credentials_generation
    access = issue_access_token(user.id, user.role, generation=generation, now=now)
    refresh = new_secret(REFRESH_TOKEN_PREFIX)
    lifetime = timedelta(days=get_settings().refresh_token_days)
    repository.add_refresh_token(
        session,
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=digest(refresh),
            created_at=now,
            expires_at=now + lifetime,
            generation=generation,
        ),
    )
    return TokenPair(access.token, refresh, access.expires_in)


def start_login(session: Session, username: str, client_address: str) -> throttle.Ticket:
    """Admit one login attempt past the throttle (``429`` otherwise).

    The endpoint commits the recorded attempt before it checks the password (see
    ``throttle.reserve``) and waits the ticket's delay first.
    """
    return throttle.reserve(session, throttle.username_key(username), client_address, utcnow())


def finish_login(
    session: Session, ticket: throttle.Ticket, username: str, password: str
) -> TokenPair:
    """A new token pair (and a new refresh-token family) for valid credentials."""
    user = check_login(session, ticket, username, password)
    pair = _issue_pair(session, user, uuid.uuid4(), utcnow())
    log.info("login_succeeded", user_id=user.id, client=ticket.client_address)
    return pair


def check_login(session: Session, ticket: throttle.Ticket, username: str, password: str) -> User:
    """The user whose valid credentials these are (``invalid_credentials`` otherwise).

    Unknown user, disabled user and wrong password give the same error after the
    same argon2 work, so neither the answer nor its timing reveals which it was.
    A failure is already recorded by ``start_login``; a success erases it.
    """
    # The whole name, not the throttle's 64-character key: a longer name must
    # not log in as the user whose name it starts with.
    user = repository.user_by_username(session, username.strip().lower())
    matches, new_hash = verify_password(password, user.password_hash if user else None)
    if user is None or not matches or not user.is_active:
        reason = "unknown_user" if user is None else "wrong_password" if not matches else "inactive"
        log.warning(
            "login_failed", username=ticket.username, client=ticket.client_address, reason=reason
        )
        raise InvalidCredentials()
    if new_hash is not None:
        user.password_hash = new_hash
    throttle.record_success(session, ticket)
    return user


def refresh(session: Session, refresh_token: str, client_address: str) -> TokenPair:
    """Rotate: the presented token is spent and a new pair in the same family returned.

    A token presented a second time was copied; the whole family is revoked so
    neither the thief nor the owner can go on, and the owner logs in again.
    """
    now = utcnow()
    row = repository.refresh_token_for_update(session, digest(refresh_token))
    if row is None:
        raise InvalidToken("the refresh token is not recognised; log in again")
    if row.revoked_at is not None:
        raise InvalidToken("the refresh token was revoked; log in again")
    if row.used_at is not None:
        repository.revoke_family(session, row.family_id, now)
        log.warning(
            "refresh_token_reused",
            user_id=row.user_id,
            family_id=str(row.family_id),
            client=client_address,
        )
        raise InvalidToken(
            "the refresh token was already used; every session from that login "
            "has been revoked, log in again"
        )
    if row.expires_at <= now:
        raise TokenExpired("the refresh token has expired; log in again")
    user = repository.user(session, row.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("the account of this refresh token is disabled")
    if row.generation != user.credentials_generation:  # issued before the password changed
        raise InvalidToken("the refresh token was revoked; log in again")
    row.used_at = now
    pair = _issue_pair(session, user, row.family_id, now)
    log.info("token_refreshed", user_id=user.id, client=client_address)
    return pair


def signed_in_user(session: Session, user_id: int) -> SignedInUser:
    """The user an access token names, as the database says now (not as the token says)."""
    user = repository.user(session, user_id)
    if user is None or not user.is_active:
        raise InvalidToken("the user of this access token no longer exists or is disabled")
    return SignedInUser.of(user)
