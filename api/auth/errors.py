"""The authentication failures a client can tell apart by ``error.code``.

All are 401 with ``WWW-Authenticate: Bearer``: a client that sees
``token_expired`` refreshes; ``invalid_token`` or ``invalid_credentials`` means
logging in again.
"""

from __future__ import annotations

from api.errors import NotAuthenticated


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"

    def __init__(self) -> None:
        # One message for unknown user and wrong password: the difference is
        # exactly what an attacker enumerating usernames wants to learn.
        super().__init__("incorrect username or password")


class TokenExpired(NotAuthenticated):
    code = "token_expired"


class InvalidToken(NotAuthenticated):
    code = "invalid_token"
