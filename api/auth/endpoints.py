"""Routes: log in, refresh, and manage API keys."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import api_keys, service, throttle
from api.auth.dependencies import ClientAddress, CurrentUser, LoggedInUser
from api.auth.errors import InvalidToken
from api.auth.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyOut, RefreshRequest, TokenResponse
from api.db.base import MAX_INT_ID
from api.db.tables.api_key import ApiKey
from api.dependencies import DbSession

router = APIRouter(prefix="/v1")

_LOGIN_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "`invalid_credentials`"},
    429: {"description": "`too_many_attempts`; wait `Retry-After` seconds"},
}
_REFRESH_ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "`invalid_token` (unknown, revoked or reused) or `token_expired`"},
}


@contextmanager
def _keeping_writes_on(session: Session, *errors: type[Exception]) -> Iterator[None]:
    """Commit before answering these errors: a revoked token family must stay revoked."""
    try:
        yield
    except errors:
        session.commit()
        raise


def _tokens(pair: service.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


def _admit(session: Session, username: str, client: str) -> throttle.Ticket:
    ticket = service.start_login(session, username, client)
    # Committed before the password is checked: a parallel attempt from the same
    # address must count this one, and a failure must stay counted.
    session.commit()
    return ticket


@router.post("/auth/token", tags=["auth"], responses=_LOGIN_ERRORS)
async def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: DbSession,
    client: ClientAddress,
) -> TokenResponse:
    """Exchange a username and password (OAuth2 password form) for tokens.

    The access token goes in `Authorization: Bearer ...` and lasts `expires_in`
    seconds; the refresh token gets a new pair from `POST /v1/auth/refresh`.
    Wrong credentials answer `401 invalid_credentials`. Repeated failures from
    one address answer `429 too_many_attempts` with `Retry-After`; failures for
    a username from other addresses only make its logins slower.
    """
    ticket = await run_in_threadpool(_admit, session, form.username, client)
    if ticket.delay_seconds:
        # Awaited, not slept in a worker thread: a slowed login holds no thread.
        await asyncio.sleep(ticket.delay_seconds)
    pair = await run_in_threadpool(
        service.finish_login, session, ticket, form.username, form.password
    )
    return _tokens(pair)


@router.post("/auth/refresh", tags=["auth"], responses=_REFRESH_ERRORS)
def refresh(body: RefreshRequest, session: DbSession, client: ClientAddress) -> TokenResponse:
    """Exchange a refresh token for a new pair. Each refresh token works once:
    presenting a used one revokes every token from the same login."""
    with _keeping_writes_on(session, InvalidToken):
        return _tokens(service.refresh(session, body.refresh_token, client))


def _key_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut.model_validate(key, from_attributes=True)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, tags=["api keys"])
def create_api_key(
    body: ApiKeyCreate, user: LoggedInUser, session: DbSession, client: ClientAddress
) -> ApiKeyCreated:
    """Create an API key for scripts (`X-API-Key` header). The key is in this
    response only: it is stored as a hash and cannot be shown again. Needs a
    bearer token: an API key cannot create further keys."""
    key, secret = api_keys.create(session, user, body.name, body.expires_in_days, client)
    return ApiKeyCreated(**_key_out(key).model_dump(), key=secret)


@router.get("/api-keys", tags=["api keys"])
def list_api_keys(user: CurrentUser, session: DbSession) -> list[ApiKeyOut]:
    """Your API keys that are not revoked (expired ones included), without secrets."""
    return [_key_out(key) for key in api_keys.list_for(session, user)]


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["api keys"])
def revoke_api_key(
    key_id: Annotated[int, Path(ge=1, le=MAX_INT_ID)],
    user: CurrentUser,
    session: DbSession,
    client: ClientAddress,
) -> Response:
    """Revoke one of your API keys; it stops working at once."""
    api_keys.revoke(session, user, key_id, client)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
