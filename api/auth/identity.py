"""The signed-in user of a request: a frozen snapshot, never a live ORM object.

A snapshot is what the credential cache keeps and hands to every request of
that user for a fraction of a second, from whichever thread serves it. Being
immutable and detached from any session, no route can change it or write it
back by accident; a route that needs the row loads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from api.db.tables.user import ROLE_ADMIN, User


# What the rules need to know about a user: a table row and a signed-in snapshot
# both fit, so services take an ``Account`` and never need the row loaded.
class Account(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_admin(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class SignedInUser:
    id: int
    username: str
    role: str
    created_at: datetime
    # Credentials issued under another generation are refused (see User).
    credentials_generation: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN

    def current(self, generation: int) -> bool:
        """Whether a credential issued under ``generation`` still counts."""
        return generation == self.credentials_generation

    @property
    def is_active(self) -> bool:
        # A disabled account is refused before a snapshot of it is made.
        return True

    @classmethod
    def of(cls, user: User) -> SignedInUser:
        generation = user.credentials_generation
        return cls(user.id, user.username, user.role, user.created_at, generation)
