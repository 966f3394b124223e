"""Who is calling: ``CurrentUser`` and ``AdminUser`` for every protected route.

A route declares ``user: CurrentUser`` (any signed-in user) or
``user: AdminUser`` (admins only). Either credential works: an
``Authorization: Bearer <access token>`` from ``POST /v1/auth/token``, or an
``X-API-Key: tsk_...`` header. The bearer token wins when both are sent.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from api.auth import api_keys, service
from api.db.tables.user import User
from api.dependencies import DbSession
from api.errors import Forbidden, NotAuthenticated

AuthMethod = Literal["bearer", "api_key"]

# auto_error=False: a missing credential is answered with our own envelope
# (401 not_authenticated), not FastAPI's default body.
_bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, run uvicorn
    with ``--proxy-headers`` so this is the real client)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


def current_user(
    request: Request,
    session: DbSession,
    token: Annotated[str | None, Depends(_bearer)],
    key: Annotated[str | None, Depends(_api_key)],
) -> User:
    method: AuthMethod
    if token:
        user, method = service.user_for_access_token(session, token), "bearer"
    elif key:
        user, method = api_keys.user_for_api_key(session, key), "api_key"
    else:
        raise NotAuthenticated(
            "this call needs 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'"
        )
    request.state.auth_method = method
    request.state.user_id = user.id  # read by the access log in api/main.py
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("this call needs the admin role")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def logged_in_user(request: Request, user: CurrentUser) -> User:
    """A user who proved their password (bearer token), not a script holding a key.

    Used where a leaked API key must not be able to extend itself, such as
    creating more API keys.
    """
    if request.state.auth_method != "bearer":
        raise Forbidden("this call needs a bearer token from a password login, not an API key")
    return user


LoggedInUser = Annotated[User, Depends(logged_in_user)]
