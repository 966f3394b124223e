"""Failures that are not bugs: a dependency that does not answer, a client that left.

A database or broker that is down, restarting or out of connections is an
outage, not an internal error: the caller gets ``503 service_unavailable`` with
``Retry-After`` (as ``/readyz`` would say), on every route, and the log gets one
warning line without a traceback.

A client that hangs up mid-request did nothing wrong and neither did the
service: the request is counted and logged with status ``499`` (nginx's "client
closed request"), never as a 500 with a traceback.

A value the database refuses to store (a number past its column's range, a NUL
character in a text) is the caller's mistake: the routes bound what they know,
and this is the net for the rest, a ``422`` rather than a 500.
"""

from __future__ import annotations

import asyncio

import anyio
import kombu.exceptions
import psycopg
import redis.exceptions
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from api.errors import error_envelope
from api.logging import get_logger

log = get_logger("api.errors")

RETRY_AFTER_SECONDS = 5
CLIENT_CLOSED_REQUEST = 499

# Exception type -> the dependency it means is unavailable.
OUTAGES: dict[type[Exception], str] = {
    sqlalchemy.exc.OperationalError: "database",  # refused, terminated, restarting
    sqlalchemy.exc.InterfaceError: "database",  # the connection is gone
    sqlalchemy.exc.DisconnectionError: "database",
    sqlalchemy.exc.TimeoutError: "database",  # no pooled connection within the timeout
    psycopg.OperationalError: "database",
    psycopg.InterfaceError: "database",
    kombu.exceptions.OperationalError: "broker",
    redis.exceptions.ConnectionError: "redis",
    redis.exceptions.TimeoutError: "redis",
}

# Raised inside the app when the peer's side of the connection is gone; they
# count as a disconnect only once the client has been seen to leave.
_GONE_WHEN_CLIENT_LEFT = (
    anyio.EndOfStream,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    asyncio.CancelledError,
    ConnectionError,
)


def unavailable_dependency(exc: BaseException) -> str | None:
    """The dependency ``exc`` says is down, or None if it is not an outage."""
    for kind, dependency in OUTAGES.items():
        if isinstance(exc, kind):
            return dependency
    return None


def is_client_disconnect(exc: BaseException, *, client_left: bool) -> bool:
    """Whether ``exc`` only says that the client went away."""
    if isinstance(exc, ClientDisconnect):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(is_client_disconnect(e, client_left=client_left) for e in exc.exceptions)
    return client_left and isinstance(exc, _GONE_WHEN_CLIENT_LEFT)


async def _service_unavailable(_: Request, exc: Exception) -> JSONResponse:
    dependency = unavailable_dependency(exc) or "dependency"
    first_line = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    log.warning(
        "dependency_unavailable", dependency=dependency, error=f"{type(exc).__name__}: {first_line}"
    )
    # Which dependency is down is told to operators (log, /readyz), not to callers.
    body = error_envelope(
        "service_unavailable",
        f"the service cannot reach a dependency right now; retry in {RETRY_AFTER_SECONDS} s",
    )
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


async def _value_refused(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database_refused_value", error=type(exc).__name__)
    body = error_envelope(
        "invalid_value",
        "a value in the request cannot be stored: a number is out of range "
        "or a text contains a character the database refuses (such as NUL)",
    )
    return JSONResponse(body, status_code=422)


def install_outage_handlers(app: FastAPI) -> None:
    for kind in OUTAGES:
        app.add_exception_handler(kind, _service_unavailable)
    app.add_exception_handler(sqlalchemy.exc.DataError, _value_refused)
