"""Limits applied to every request before any route sees it: body size and request id.

FastAPI reads (and parses) a request body before it runs the route's
dependencies, authentication included, so without a limit here an anonymous
caller could make the server buffer hundreds of megabytes only to be told 401.
``BodyLimit`` refuses a declared ``Content-Length`` over the limit without
reading a byte, and counts the bytes of a body sent without one (chunked) as
they arrive, stopping at the limit. Either way the answer is ``413
payload_too_large`` and the connection is closed, so the rest of the body is
never read.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import get_settings
from api.errors import error_envelope

MAX_BODY_BYTES: Final[int] = 1024 * 1024  # every JSON and form body
# Room for the multipart framing and the small fields around an uploaded file.
UPLOAD_FRAMING_BYTES: Final[int] = 256 * 1024
# Routes whose body is a file upload; they get the upload limit instead.
UPLOAD_ROUTES: Final[frozenset[tuple[str, str]]] = frozenset({("POST", "/v1/datasets")})

REQUEST_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")


def request_id_from(presented: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is short and plain, else a new one.

    The id is logged, echoed and stored (the prediction log's column holds 64
    characters), so anything longer or with other characters is replaced rather
    than trusted.
    """
    if presented is not None and REQUEST_ID_PATTERN.fullmatch(presented):
        return presented
    return uuid.uuid4().hex


def body_limit_for(method: str, path: str) -> int:
    """The largest body, in bytes, that ``method path`` accepts."""
    if (method, path.rstrip("/") or "/") in UPLOAD_ROUTES:
        return get_settings().upload_max_bytes + UPLOAD_FRAMING_BYTES
    return MAX_BODY_BYTES


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body passes its limit.

    An ``HTTPException`` because FastAPI turns any other exception raised while
    it reads a body into ``400``; this one it passes on to the error handlers,
    which answer with the envelope (``Connection: close`` included).
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, _message(limit), headers={"Connection": "close"})


def _message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes, the limit for this call"


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class BodyLimit:
    """Pure ASGI middleware: no request body larger than its route's limit is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(limit, scope, receive, send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # Normally the error handlers answer; this covers a body read outside them.
            if started:
                raise
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    body = error_envelope("payload_too_large", _message(limit))
    # Closing the connection is what stops the client's upload: the server
    # never reads the rest of the body.
    response = JSONResponse(body, status_code=413, headers={"Connection": "close"})
    await response(scope, receive, send)
