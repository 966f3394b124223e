"""What the rules need to know about a user: a table row and a signed-in snapshot both fit.

Services take an ``Account`` rather than the ORM ``User``, so a request can pass
the frozen snapshot its credential resolved to (``api.auth.identity``) without
loading the row, and the worker, the CLI and the tests can pass a row.
"""

from __future__ import annotations

from typing import Protocol


class Account(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...

    @property
    def is_active(self) -> bool: ...

    @property
    def is_admin(self) -> bool: ...
