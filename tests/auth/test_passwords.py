"""The password policy and hashing (no database needed)."""

from __future__ import annotations

import pytest

from api.auth.passwords import (
    check_password_policy,
    hash_password,
    password_problem,
    verify_password,
)
from api.errors import InvalidInput


@pytest.mark.parametrize(
    ("password", "username", "expected"),
    [
        ("short", "alice", "at least 12 characters long (it has 5)"),
        ("x" * 300, "alice", "at most 256 characters long (it has 300)"),
        ("alice.wonder", "Alice.Wonder", "must not be the same as the username"),
    ],
)
def test_weak_password_is_refused_with_the_reason(
    password: str, username: str, expected: str
) -> None:
    problem = password_problem(password, username)
    assert problem is not None and expected in problem
    with pytest.raises(InvalidInput) as raised:
        check_password_policy(password, username)
    assert raised.value.code == "weak_password"
    assert raised.value.status_code == 422


def test_twelve_characters_other_than_the_username_are_accepted() -> None:
    assert password_problem("twelve chars", "alice") is None


def test_hash_is_argon2_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse battery" not in hashed
    assert verify_password("correct horse battery", hashed)[0] is True
    assert verify_password("wrong horse battery", hashed)[0] is False


def test_missing_user_never_verifies() -> None:
    assert verify_password("anything at all", None) == (False, None)
