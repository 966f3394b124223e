"""All SQL for users."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db.tables.refresh_token import RefreshToken
from api.db.tables.user import User


def get(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def get_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def list_all(session: Session, limit: int) -> Sequence[User]:
    """Users by name (at most ``limit``)."""
    return session.scalars(select(User).order_by(User.username).limit(limit)).all()


def add(session: Session, user: User) -> bool:
    """Insert ``user``; False when the username is taken (even by a concurrent insert).

    The savepoint keeps a unique-constraint failure from aborting the caller's
    whole transaction.
    """
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        return False
    return True


def revoke_refresh_tokens(session: Session, user_id: int, now: datetime) -> int:
    """Revoke every refresh token of the user that is still valid; how many."""
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
