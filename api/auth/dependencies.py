"""Who is calling: ``CurrentUser`` and ``AdminUser`` for every protected route.

A route declares ``user: CurrentUser`` (any signed-in user) or
``user: AdminUser`` (admins only). Either credential works: an
``Authorization: Bearer <access token>`` from ``POST /v1/auth/token``, or an
``X-API-Key: tsk_...`` header. The bearer token wins when both are sent.

The credential is checked on every request; whether its user is still active
(and the key unrevoked, and which role the user has) comes from a per-process
cache at most half a second old (``api.auth.cache``), so a request of a known
caller does no I/O here and a change reaches every process within a second.
The user is a frozen ``SignedInUser``; a route that needs the row loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from api.auth import api_keys, service
from api.auth.cache import CredentialCache, VerifiedTokens
from api.auth.errors import InvalidToken
from api.auth.identity import SignedInUser
from api.db.base import utcnow
from api.dependencies import open_sessions
from api.errors import Forbidden, NotAuthenticated

AuthMethod = Literal["bearer", "api_key"]

# auto_error=False: a missing credential is answered with our own envelope
# (401 not_authenticated), not FastAPI's default body.
_bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


async def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy, run uvicorn
    with ``--proxy-headers`` so this is the real client)."""
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]


@dataclass
class CredentialCaches:
    """One per application: verified access tokens, users by id, API keys by hash."""

    tokens: VerifiedTokens = field(default_factory=VerifiedTokens)
    users: CredentialCache[SignedInUser] = field(default_factory=CredentialCache)
    keys: CredentialCache[api_keys.KeyHolder] = field(default_factory=CredentialCache)


def credential_caches(request: Request) -> CredentialCaches:
    state = request.app.state
    caches: CredentialCaches | None = getattr(state, "credential_caches", None)
    if caches is None:
        caches = state.credential_caches = CredentialCaches()
    return caches


async def user_of_generation(
    caches: CredentialCaches,
    user_id: int,
    generation: int,
    load: Callable[[], SignedInUser],
) -> SignedInUser:
    """The user, from the cache unless a credential of a newer generation shows the
    cached snapshot predates a password change: then from the database. Only the
    server signs generations, so no caller can force lookups with made-up ones."""
    user = await caches.users.get(user_id, load)
    if generation > user.credentials_generation:
        user = await caches.users.reload(user_id, load)
    return user


async def current_user(
    request: Request,
    token: Annotated[str | None, Depends(_bearer)],
    key: Annotated[str | None, Depends(_api_key)],
) -> SignedInUser:
    caches = credential_caches(request)
    method: AuthMethod
    if token:
        user_id, generation = caches.tokens.subject(token)

        def load_user() -> SignedInUser:  # a miss: in a transaction of its own
            with open_sessions(request)() as session:
                return service.signed_in_user(session, user_id)

        user = await user_of_generation(caches, user_id, generation, load_user)
        method = "bearer"
        if not user.current(generation):
            raise InvalidToken(
                "this access token was issued before the password changed; log in again"
            )
    elif key:
        key_hash = api_keys.key_hash(key)

        def load_key() -> api_keys.KeyHolder:
            with open_sessions(request)() as session:
                return api_keys.holder_of(session, key_hash)

        holder = await caches.keys.get(key_hash, load_key)
        api_keys.check_unexpired(holder, utcnow())
        user, method = holder.user, "api_key"
    else:
        raise NotAuthenticated(
            "this call needs 'Authorization: Bearer <access token>' or 'X-API-Key: <key>'"
        )
    request.state.auth_method = method
    request.state.user_id = user.id  # read by the access log in api/main.py
    return user


CurrentUser = Annotated[SignedInUser, Depends(current_user)]


async def admin_user(user: CurrentUser) -> SignedInUser:
    if not user.is_admin:
        raise Forbidden("this call needs the admin role")
    return user


AdminUser = Annotated[SignedInUser, Depends(admin_user)]


async def logged_in_user(request: Request, user: CurrentUser) -> SignedInUser:
    """A user who proved their password (bearer token), not a script holding a key.

    Used where a leaked API key must not be able to extend itself, such as
    creating more API keys.
    """
    if request.state.auth_method != "bearer":
        raise Forbidden("this call needs a bearer token from a password login, not an API key")
    return user


LoggedInUser = Annotated[SignedInUser, Depends(logged_in_user)]
