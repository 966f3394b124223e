"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.auth.tokens import read_access_claims
from api.config import get_settings
from api.db.tables.user import ROLE_ADMIN
from api.error_docs import errors
from api.errors import NotAuthenticated, error_envelope
from api.health import checks
from api.http_faults import RETRY_AFTER_SECONDS
from api.observability import REGISTRY

router = APIRouter(tags=["operations"])


def _bearer(request: Request) -> str | None:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return (credential.strip() or None) if scheme.lower() == "bearer" else None


def _metrics_token() -> str | None:
    token = get_settings().metrics_token
    return (token.get_secret_value() or None) if token is not None else None


def _is_metrics_token(credential: str | None) -> bool:
    expected = _metrics_token()
    return (
        expected is not None
        and credential is not None
        and hmac.compare_digest(credential.encode(), expected.encode())
    )


def _is_operator(request: Request) -> bool:
    """The metrics token, or an admin's access token.

    The admin role is read from the signed token rather than the database:
    the detail matters most when the database is the thing that is down.
    """
    credential = _bearer(request)
    if credential is None:
        return False
    if _is_metrics_token(credential):
        return True
    try:
        return read_access_claims(credential)[1] == ROLE_ADMIN
    except NotAuthenticated:
        return False


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up. Says nothing about its dependencies; see `/readyz`."""
    return {"status": "ok"}


@router.get("/readyz", responses=errors(503, s503="`not_ready`: a dependency is down"))
def readyz(request: Request) -> JSONResponse:
    """Ready to serve: the database, the broker and the object store all answer
    (`200`), or not (`503`). What is down, and why, is shown only with an admin's
    bearer token or `Authorization: Bearer <TASADOR_METRICS_TOKEN>`."""
    results = checks.run_all()
    down = {name: problem for name, problem in results.items() if problem is not None}
    detailed = _is_operator(request)
    if down:
        message = f"not ready: {', '.join(sorted(down))} unavailable" if detailed else "not ready"
        body = error_envelope("not_ready", message, down if detailed else None)
        # The same hint as any other outage answer: probes and callers may back off.
        return JSONResponse(
            body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    if not detailed:
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "ready", "checks": {name: "ok" for name in results}})


@router.get("/metrics", responses=errors(401, s401="the metrics token is required"))
def metrics(request: Request) -> Response:
    """Prometheus metrics in the text exposition format. Needs `Authorization:
    Bearer <TASADOR_METRICS_TOKEN>` when the service has that setting."""
    if _metrics_token() is not None and not _is_metrics_token(_bearer(request)):
        raise NotAuthenticated("this call needs 'Authorization: Bearer <metrics token>'")
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
