"""The FastAPI application: routers, the error envelope, request ids."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import __version__
from api.auth.endpoints import router as auth_router
from api.datasets.endpoints import router as datasets_router
from api.errors import TasadorError, error_envelope
from api.health.endpoints import router as health_router
from api.jobs.endpoints import router as jobs_router
from api.logging import configure_logging, get_logger
from api.metrics import HTTP_LATENCY, HTTP_REQUESTS
from api.predictions.endpoints import router as predictions_router
from api.predictions.serving import serving_lifespan
from api.registry.endpoints import router as models_router
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


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(err.get("loc", ())), "msg": err.get("msg"), "type": err.get("type")}
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TasadorError)
    async def _domain(_: Request, exc: TasadorError) -> JSONResponse:
        return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(p) for p in first["loc"])
        body = error_envelope("validation_error", f"{where}: {first['msg']}", details)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_envelope(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=type(exc).__name__)
        body = error_envelope("internal_error", "an unexpected error occurred; it was logged")
        return JSONResponse(body, status_code=500)


def install_request_context(app: FastAPI) -> None:
    """Request id on every log line, one access-log line and metrics per request."""

    @app.middleware("http")
    async def _request_context(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        request.state.request_id = request_id
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(request.scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(route, request.method, str(status)).inc()
            HTTP_LATENCY.labels(route, request.method).observe(elapsed)
            log.info(
                "request",
                method=request.method,
                route=route,
                status=status,
                latency_ms=round(elapsed * 1000, 2),
                user_id=getattr(request.state, "user_id", None),
            )
        response.headers["X-Request-ID"] = request_id
        return response


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        lifespan=serving_lifespan,
        title="Tasador",
        version=__version__,
        description="Property valuation: training and batch jobs, model registry, predictions.",
    )
    install_error_handlers(app)
    install_request_context(app)
    app.include_router(health_router)
    app.include_router(auth_router)
    app.include_router(users_router)
    app.include_router(datasets_router)
    app.include_router(jobs_router)
    app.include_router(webhooks_router)
    app.include_router(models_router)
    app.include_router(predictions_router)
    return app
