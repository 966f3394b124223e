"""All SQL for authentication: the account a credential opens, refresh tokens, API keys,
failed login attempts.

Reading the account here, rather than through ``api.users``, keeps auth below
users: every domain's routes depend on auth, the users routes included.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from api.db.tables.api_key import ApiKey
from api.db.tables.login_attempt import LoginAttempt
from api.db.tables.refresh_token import RefreshToken
from api.db.tables.user import User

# Accounts


def user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


# Refresh tokens


def add_refresh_token(session: Session, token: RefreshToken) -> None:
    session.add(token)
    session.flush()


def refresh_token_for_update(session: Session, token_hash: str) -> RefreshToken | None:
    """The token row, locked: two concurrent refreshes with one token run one at a time."""
    stmt = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
    return session.scalars(stmt).first()


def revoke_family(session: Session, family_id: uuid.UUID, now: datetime) -> int:
    stmt = (
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return session.execute(stmt, execution_options={"synchronize_session": False}).rowcount  # type: ignore[attr-defined, no-any-return]


# API keys


def add_api_key(session: Session, key: ApiKey) -> None:
    session.add(key)
    session.flush()


def api_key_and_owner(session: Session, key_hash: str) -> tuple[ApiKey, User] | None:
    """The key with this hash and its user, in one query."""
    stmt = select(ApiKey, User).join(User, User.id == ApiKey.user_id)
    row = session.execute(stmt.where(ApiKey.key_hash == key_hash)).first()
    return None if row is None else (row[0], row[1])


def api_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def active_api_keys(session: Session, user_id: int) -> Sequence[ApiKey]:
    """The user's keys that were not revoked (expired ones included), newest first."""
    stmt = (
        select(ApiKey)
        .where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
    )
    return session.scalars(stmt).all()


def unrevoked_api_keys_with_owners(session: Session, limit: int) -> list[tuple[ApiKey, User]]:
    """Every key not revoked, with its owner, newest first (at most ``limit``)."""
    stmt = (
        select(ApiKey, User)
        .join(User, User.id == ApiKey.user_id)
        .where(ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        .limit(limit)
    )
    return [(key, owner) for key, owner in session.execute(stmt)]


def touch_api_key(session: Session, key_id: int, now: datetime, stale_before: datetime) -> None:
    """Record a use, but write only when the stored value is older than ``stale_before``.

    A busy script would otherwise turn every read request into a row update.
    """
    stmt = (
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )
    session.execute(stmt, execution_options={"synchronize_session": False})


# Failed login attempts

_LOGIN_LOCK_CLASS = 0x7461_7364  # advisory-lock namespace of the login throttle


def lock_login_address(session: Session, client_address: str) -> None:
    """Serialise the throttle's record-and-count step for one address until commit.

    Postgres only: on SQLite the INSERT that follows takes the database's single
    write lock, which serialises the step just as well.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(client_address.encode()).digest()
    key = int.from_bytes(digest[:4], "big", signed=True)
    session.execute(select(func.pg_advisory_xact_lock(_LOGIN_LOCK_CLASS, key)))


def recent_failures(
    session: Session,
    *,
    since: datetime,
    limit: int,
    username: str | None = None,
    client_address: str | None = None,
) -> list[tuple[int, datetime]]:
    """(id, time) of the newest ``limit`` failures after ``since`` for a username and/or address."""
    stmt = select(LoginAttempt.id, LoginAttempt.attempted_at).where(
        LoginAttempt.attempted_at > since
    )
    if username is not None:
        stmt = stmt.where(LoginAttempt.username == username)
    if client_address is not None:
        stmt = stmt.where(LoginAttempt.client_address == client_address)
    stmt = stmt.order_by(LoginAttempt.attempted_at.desc(), LoginAttempt.id.desc()).limit(limit)
    return [(row.id, row.attempted_at) for row in session.execute(stmt)]


def count_failures_elsewhere(
    session: Session, *, since: datetime, username: str, client_address: str, cap: int
) -> int:
    """Failures of ``username`` after ``since`` from addresses other than ``client_address``."""
    recent = (
        select(LoginAttempt.id)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.client_address != client_address,
            LoginAttempt.attempted_at > since,
        )
        .limit(cap)
        .subquery()
    )
    return session.scalar(select(func.count()).select_from(recent)) or 0


def add_failure(session: Session, username: str, client_address: str, now: datetime) -> int:
    attempt = LoginAttempt(username=username, client_address=client_address, attempted_at=now)
    session.add(attempt)
    session.flush()
    return attempt.id


def prune_failures(session: Session, before: datetime, batch: int = 1000) -> None:
    """Delete up to ``batch`` failures older than ``before``.

    Rows another transaction is deleting are skipped (SKIP LOCKED on Postgres),
    so concurrent logins never wait on, or deadlock over, the same old rows.
    """
    old = (
        select(LoginAttempt.id)
        .where(LoginAttempt.attempted_at < before)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.id.in_(old.scalar_subquery())))


def clear_failures(session: Session, username: str, client_address: str) -> None:
    session.execute(
        delete(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.client_address == client_address
        )
    )
