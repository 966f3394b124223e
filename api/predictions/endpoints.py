"""Prediction routes: synchronous predictions, the prediction log, a no-op ping."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth.dependencies import AdminUser, CurrentUser
from api.constraints import IsoDateTime
from api.db.base import MAX_INT_ID
from api.dependencies import DbSession, open_sessions
from api.ownership import Principal
from api.predictions import service
from api.predictions.schemas import (
    PingResponse,
    PredictionLogEntry,
    PredictionLogPage,
    PredictionRequest,
    PredictionResponse,
)

router = APIRouter(tags=["predictions"])


def _request_schema() -> dict[str, Any]:
    """PredictionRequest's JSON schema with its ``$defs`` written in place.

    The schema is placed inside the OpenAPI document, where a ``#/$defs/...``
    reference points at nothing: /docs and /redoc could not show an instance's
    fields (ReDoc refuses the whole document).
    """
    schema = PredictionRequest.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return inline(defs[ref.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    result: dict[str, Any] = inline(schema)
    return result


_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "`comparables_forbidden`: comparables are the model's training rows, "
        "and you may not read the data it was trained on"
    },
    404: {"description": "`model_not_found` or `alias_not_found`"},
    409: {
        "description": "`no_model`: nothing is in production yet; `interval_unavailable`: "
        "the model was trained without interval calibration; `comparables_unavailable`: "
        "the model was trained before comparables were stored with it"
    },
    422: {"description": "`invalid_instances`: details list `{index, field, reason}`"},
}


@router.post(
    "/v1/predictions",
    response_model=PredictionResponse,
    responses=_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _request_schema()}},
        }
    },
)
async def predict(request: Request, user: CurrentUser) -> Response:
    """Value 1 to 1000 properties with the model `model` names: "production"
    (the default), another alias, or a version number. The answer names the
    version used. `type` must be casa or departamento; a sector the model never
    saw is valued with the training average for sectors."""
    # The body is validated by pydantic-core straight from bytes (see schemas),
    # which is faster than FastAPI's parse-then-validate and lets a bad instance
    # be reported as "instances[3].net_area" rather than a generic location.
    body = await request.body()
    request_id = getattr(request.state, "request_id", "") or ""
    caller = Principal.of(user)
    # A small body whose model is loaded is answered right here, in microseconds;
    # anything that may block (a load, a query, a large body) goes to a pool thread.
    answer = (
        service.predict_from_memory(body, caller=caller, request_id=request_id)
        if len(body) <= service.INLINE_MAX_BYTES
        else None
    )
    if answer is None:
        answer = await run_in_threadpool(
            service.predict, open_sessions(request), body, caller=caller, request_id=request_id
        )
    return Response(answer, media_type="application/json")


@router.get("/v1/predictions/log", response_model=PredictionLogPage)
def prediction_log(
    session: DbSession,
    _: AdminUser,
    since: Annotated[IsoDateTime | None, Query(description="inclusive; UTC if no offset")] = None,
    until: Annotated[IsoDateTime | None, Query(description="exclusive; UTC if no offset")] = None,
    model_version: Annotated[int | None, Query(ge=1, le=MAX_INT_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PredictionLogPage:
    """Logged predictions, newest first, one row per instance (admins only).
    Rows are written in batches about once a second, so the newest predictions
    may take that long to appear."""
    rows = service.read_log(
        session, since=since, until=until, model_version=model_version, limit=limit
    )
    return PredictionLogPage(items=[PredictionLogEntry.from_row(r) for r in rows])


@router.get("/v1/ping", response_model=PingResponse)
async def ping(user: CurrentUser) -> PingResponse:
    """Does nothing but authenticate: a baseline for latency and throughput."""
    # async: nothing here blocks, so the request never waits for a pool thread.
    return PingResponse(ok=True, user_id=user.id)
