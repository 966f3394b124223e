"""Business rules for users: who may exist, with which role and password."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.orm import Session

from api.auth.passwords import check_password_policy, hash_password
from api.db.base import utcnow
from api.db.tables.user import ROLES, User
from api.errors import Conflict, InvalidInput, NotFound
from api.logging import get_logger
from api.users import repository

log = get_logger("api.audit")

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.@-]{2,63}$")


def get(session: Session, user_id: int) -> User | None:
    return repository.get(session, user_id)


def list_users(session: Session, limit: int = 500) -> Sequence[User]:
    """Every user by name, for the admin overview."""
    return repository.list_all(session, limit)


def get_by_username(session: Session, username: str) -> User | None:
    return repository.get_by_username(session, username)


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_username(username: str) -> str:
    """The canonical (lower-case) username, or ``422 invalid_username`` saying why not."""
    canonical = normalize_username(username)
    if not USERNAME_PATTERN.fullmatch(canonical):
        raise InvalidInput(
            "username must be 3 to 64 characters: letters, digits and _ . @ -, "
            "starting with a letter or digit",
            code="invalid_username",
            details={"field": "username"},
        )
    return canonical


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    password_hash: str | None = None,
    created_by: int | None = None,
) -> User:
    """Create a user; ``409 username_taken`` or ``422`` naming the broken rule.

    ``password_hash`` lets a caller that already hashed the password (the test
    fixtures, to skip a 50-250 ms argon2 run) pass it; the policy still applies.
    """
    canonical = check_username(username)
    if role not in ROLES:
        raise InvalidInput(
            f"role must be one of {', '.join(ROLES)}; got {role!r}",
            code="invalid_role",
            details={"field": "role"},
        )
    check_password_policy(password, canonical)
    if repository.get_by_username(session, canonical) is not None:
        raise Conflict(f"username {canonical!r} is already taken", code="username_taken")
    user = User(
        username=canonical,
        password_hash=password_hash or hash_password(password),
        role=role,
    )
    if not repository.add(session, user):
        raise Conflict(f"username {canonical!r} is already taken", code="username_taken")
    log.info("user_created", user_id=user.id, role=role, created_by=created_by)
    return user


def set_password(session: Session, username: str, password: str) -> User:
    """Give ``username`` a new password and sign out every login of theirs.

    Every refresh token of the user is revoked, so no session outlives the
    change for longer than its access token (minutes). The password policy
    applies; ``404 user_not_found`` for an unknown name.
    """
    canonical = normalize_username(username)
    user = repository.get_by_username(session, canonical)
    if user is None:
        raise NotFound(f"no user {canonical!r}", code="user_not_found")
    check_password_policy(password, canonical)
    user.password_hash = hash_password(password)
    now = utcnow()
    # Every credential issued so far names the old generation, including one a
    # refresh running at this very moment hands out.
    user.credentials_generation = User.credentials_generation + 1
    revoked = repository.revoke_refresh_tokens(session, user.id, now)
    log.info("password_set", user_id=user.id, refresh_tokens_revoked=revoked)
    return user


def ensure_admin(session: Session, username: str, password: str) -> bool:
    """Create the first admin unless a user with that name exists; True if created.

    Idempotent, so the standalone runner and the compose migrate step can call
    it on every start. An existing account is never changed: the password in
    the environment only matters the first time.
    """
    canonical = check_username(username)
    if repository.get_by_username(session, canonical) is not None:
        return False
    create_user(session, canonical, password, "admin")
    return True
