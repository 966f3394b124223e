"""Password hashing (argon2id through pwdlib) and the password policy.

Verification always costs one argon2 computation, whether or not the user
exists: an unknown username is checked against a dummy hash, so neither the
answer nor its timing tells an attacker which usernames are real.
"""

from __future__ import annotations

from functools import cache

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from api.errors import InvalidInput

MIN_LENGTH = 12
# argon2 hashes whatever it is given; a cap keeps a megabyte "password" from
# becoming a cheap way to burn CPU.
MAX_LENGTH = 256

_hasher = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


# A hash of a throwaway string with the hasher's current parameters. Being fixed,
# it costs nothing at startup; it is recomputed only if the parameters change, so
# checking against it keeps costing exactly what checking a real hash costs.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$+3OXTtB5uDTal2uqpUhlZg$"
    "gNVawM25lVQcQfM+UER3+6zhOXxmaByj8O1LccotpDQ"
)


@cache
def _dummy_hash() -> str:
    if _hasher.current_hasher.check_needs_rehash(_DUMMY_HASH):
        return _hasher.hash("unused: this hash only makes unknown users cost the same")
    return _DUMMY_HASH


def verify_password(password: str, password_hash: str | None) -> tuple[bool, str | None]:
    """``(matches, new_hash)``; ``new_hash`` is set when the stored hash should be upgraded.

    With ``password_hash=None`` (no such user) a dummy hash is verified so the
    call takes as long as a real check, and the answer is always ``False``.
    """
    if password_hash is None:
        _hasher.verify(password, _dummy_hash())
        return False, None
    return _hasher.verify_and_update(password, password_hash)


def password_problem(password: str, username: str) -> str | None:
    """What is wrong with ``password`` for ``username``, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"password must be at least {MIN_LENGTH} characters long (it has {len(password)})"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters long (it has {len(password)})"
    if password.strip().lower() == username.strip().lower():
        return "password must not be the same as the username"
    return None


def check_password_policy(password: str, username: str) -> None:
    """Raise ``422 weak_password`` naming the rule the password breaks."""
    problem = password_problem(password, username)
    if problem is not None:
        raise InvalidInput(problem, code="weak_password", details={"field": "password"})
