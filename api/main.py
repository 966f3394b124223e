"""The FastAPI application: routers, the error envelope, request ids."""

from __future__ import annotations

import time
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import __version__
from api.allowed_methods import allowed_methods
from api.auth.endpoints import router as auth_router
from api.datasets.endpoints import router as datasets_router
from api.db.engine import set_ping_on_checkout
from api.docs_pages import install_docs_pages
from api.errors import TasadorError, error_envelope
from api.health.endpoints import router as health_router
from api.http_faults import CLIENT_CLOSED_REQUEST, install_outage_handlers, is_client_disconnect
from api.jobs.endpoints import router as jobs_router
from api.jobs.submission import KNOWN_ALIAS
from api.limits import BodyLimit, request_id_from
from api.logging import configure_logging, get_logger, mark_logged
from api.observability import HTTP_LATENCY, HTTP_REQUESTS
from api.openapi import install_openapi
from api.predictions.endpoints import router as predictions_router
from api.predictions.serving import get_serving, serving_lifespan
from api.registry.endpoints import router as models_router
from api.sources.endpoints import router as sources_router
from api.ui.endpoints import install_ui
from api.users.endpoints import router as users_router
from api.webhooks.endpoints import router as webhooks_router

log = get_logger("api.access")

_HTTP_CODES = {
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


_UNPARSABLE_BODY = "There was an error parsing the body"


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]


def _headline(details: list[dict[str, Any]]) -> dict[str, Any]:
    """The error the message names: for a value that fits none of a union's
    branches, the branch that got furthest, not the first branch's type mismatch
    (an object given for ``str | SourceInput`` is refused for what is wrong in it,
    not for not being a string)."""
    first = details[0]
    if not str(first.get("type", "")).endswith("_type") or len(first["loc"]) < 2:
        return first
    parent = first["loc"][:-1]
    for other in details[1:]:
        sibling = other["loc"][: len(parent)] == parent and other["loc"] != first["loc"]
        if sibling and not str(other.get("type", "")).endswith("_type"):
            return other
    return first


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TasadorError)
    async def _domain(_: Request, exc: TasadorError) -> JSONResponse:
        return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = _headline(details) if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        body = error_envelope("validation_error", f"{where}: {first['msg']}", details)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == _UNPARSABLE_BODY:
            # A body FastAPI could not decode (invalid UTF-8, a broken form): the
            # same 422 as a body that is not valid JSON.
            body = error_envelope("validation_error", "body: the body could not be parsed")
            return JSONResponse(body, status_code=422)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return JSONResponse(
            error_envelope(code, str(exc.detail)), status_code=exc.status_code, headers=headers
        )

    install_outage_handlers(app)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=type(exc).__name__)
        mark_logged(exc)  # the server re-raises it; its traceback is in the log once
        body = error_envelope("internal_error", "an unexpected error occurred; it was logged")
        return JSONResponse(body, status_code=500)


class RequestContext:
    """Request id on every log line, one access-log line and metrics per request.

    A client that leaves before its answer is complete is logged and counted
    with status 499, whatever the app did next; an exception that only says so
    is not an error (no traceback, no 500).

    A plain ASGI middleware rather than ``@app.middleware("http")``: Starlette's
    BaseHTTPMiddleware runs every request through an extra task and stream,
    which cost about a third of a millisecond of CPU per call here.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(Headers(scope=scope).get("x-request-id"))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        # request.state reads and writes this dict (the auth dependency sets user_id).
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        client_left = finishing = False

        async def receive_watching() -> Message:
            nonlocal client_left
            message = await receive()
            if message["type"] == "http.disconnect" and not finishing:
                client_left = True
            return message

        async def send_with_id(message: Message) -> None:
            nonlocal status, finishing
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers.append("X-Request-ID", request_id)
                if state.get("retry_after") and "retry-after" not in headers:
                    headers.append("Retry-After", str(state["retry_after"]))  # see get_session
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finishing = True
            await send(message)

        try:
            await self.app(scope, receive_watching, send_with_id)
        except BaseException as exc:
            if not is_client_disconnect(exc, client_left=client_left):
                raise
            client_left = True
        finally:
            if client_left:
                status = CLIENT_CLOSED_REQUEST
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(route, method, str(status)).inc()
            HTTP_LATENCY.labels(route, method).observe(elapsed)
            log.info(
                "request",
                method=method,
                route=route,
                status=status,
                latency_ms=round(elapsed * 1000, 2),
                user_id=state.get("user_id"),
                **({"client_disconnected": True} if client_left else {}),
            )


def create_app() -> FastAPI:
    configure_logging(background=True)
    set_ping_on_checkout(False)  # a dead connection costs one 503, not a round trip per request
    app = FastAPI(
        lifespan=serving_lifespan,
        title="Tasador",
        version=__version__,
        description="Property valuation: training and batch jobs, model registry, predictions.",
        docs_url=None,  # served from local files by install_docs_pages
        redoc_url=None,
    )
    install_docs_pages(app)
    install_error_handlers(app)
    # The last added runs first: the request id and access log cover the 413s too.
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestContext)
    # Matched in this order, each router's routes one by one: the busiest first.
    app.include_router(predictions_router)
    app.include_router(jobs_router)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(datasets_router)
    app.include_router(webhooks_router)
    app.include_router(models_router)
    app.include_router(sources_router)
    install_ui(app)
    install_openapi(app)
    # Batch submits name an alias's version from the snapshot predictions keep.
    setattr(app.state, KNOWN_ALIAS, lambda alias: get_serving().aliases.lookup(alias))
    return app
