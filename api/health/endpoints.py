"""Liveness, readiness and metrics for operators."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.health import checks
from api.metrics import REGISTRY

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up. Says nothing about its dependencies; see `/readyz`."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz() -> JSONResponse:
    """Ready to serve: the database, the broker and the object store all answer.
    `503` names what is down."""
    results = checks.run_all()
    down = {name: problem for name, problem in results.items() if problem is not None}
    if down:
        names = ", ".join(sorted(down))
        body = {
            "error": {
                "code": "not_ready",
                "message": f"not ready: {names} unavailable",
                "details": down,
            }
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "checks": {name: "ok" for name in results}})


@router.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics in the text exposition format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
