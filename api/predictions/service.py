"""Answering a prediction request and reading the prediction log. Never commits."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from api.db.session import SessionOpener
from api.db.tables.prediction_log import PredictionLog
from api.errors import Conflict, Forbidden, InvalidInput, TasadorError
from api.ml.predictor import UnpredictableInput
from api.observability import PREDICTION_LATENCY, PREDICTIONS
from api.ownership import Principal, may_read_rows_of
from api.predictions import repository
from api.predictions.log_buffer import PredictionEvent
from api.predictions.schemas import PredictionRequest, parse_request
from api.predictions.serving import ServedModel, Serving, get_serving


class PredictionFailed(TasadorError):
    status_code = 500
    code = "prediction_failed"


# A body this small (about twenty instances) takes well under a millisecond
# to answer from memory: less than handing it to a pool thread and back.
INLINE_MAX_BYTES = 4096


def predict(sessions: SessionOpener, body: bytes, *, caller: Principal, request_id: str) -> bytes:
    """Validate ``body``, predict with the model it names, log; the JSON answer.

    The hot path reads only in-memory state (alias snapshot, model cache); a
    session is opened only when a model must be loaded or an alias is not in
    the snapshot yet.
    """
    started = time.perf_counter()
    request = parse_request(body)  # 422 naming instance and field
    serving = get_serving()
    served = serving.in_memory(request.model)
    if served is None:
        with sessions() as session:
            served = serving.model(session, serving.resolve(session, request.model))
    return _answer(serving, request, served, started, caller=caller, request_id=request_id)


def predict_from_memory(body: bytes, *, caller: Principal, request_id: str) -> bytes | None:
    """``predict`` when it needs no I/O (the alias is known, the model loaded), else None.

    For the event loop: small bodies only (``INLINE_MAX_BYTES``), so that no
    request holds the loop for long.
    """
    started = time.perf_counter()
    request = parse_request(body)
    serving = get_serving()
    served = serving.in_memory(request.model)
    if served is None:
        return None
    return _answer(serving, request, served, started, caller=caller, request_id=request_id)


def _answer(
    serving: Serving,
    request: PredictionRequest,
    served: ServedModel,
    started: float,
    *,
    caller: Principal,
    request_id: str,
) -> bytes:
    version = served.version
    inference = time.perf_counter()
    try:
        prices = served.predictor.predict_records(request.instances).tolist()
    except UnpredictableInput as exc:
        raise InvalidInput(str(exc), code="unpredictable_instance") from exc
    PREDICTION_LATENCY.observe(time.perf_counter() - inference)
    PREDICTIONS.labels(str(version)).inc(len(prices))
    for i, price in enumerate(prices):
        if not math.isfinite(price):
            raise PredictionFailed(
                f"model version {version} produced a non-finite price for instances[{i}]",
                details={"index": i, "model_version": version},
            )
    answer = json.dumps(
        {"model_version": version, "predictions": _predictions(request, served, prices, caller)},
        separators=(",", ":"),
    ).encode()
    serving.log.add(
        PredictionEvent(
            created_at=datetime.now(UTC),
            request_id=request_id,
            user_id=caller.user_id,
            model=str(request.model)[:64],
            model_version=version,
            latency_ms=(time.perf_counter() - started) * 1000.0,
            instances=request.instances,
            prices=prices,
        )
    )
    return answer


def _unavailable(version: int, what: str, code: str) -> Conflict:
    return Conflict(
        f"model version {version} was trained before {what} were stored with models: "
        f"retrain it, or leave out `{code.split('_')[0]}`",
        code=code,
        details={"model_version": version},
    )


def _check_may_see_rows(caller: Principal, served: ServedModel) -> None:
    """Comparables are the version's own training rows: a caller gets them only
    if they may read the data it was trained on."""
    if may_read_rows_of(caller, served.training_data):
        return
    raise Forbidden(
        f"comparables are rows of the data model version {served.version} was trained on, "
        "which you may not read; leave out `comparables`",
        code="comparables_forbidden",
        details={"model_version": served.version},
    )


def _predictions(
    request: PredictionRequest, served: ServedModel, prices: list[float], caller: Principal
) -> list[dict[str, Any]]:
    """Each price, with its range and its comparables when the request asks for them."""
    rows: list[dict[str, Any]] = [{"price": p} for p in prices]
    if request.interval is not None:
        if served.intervals is None:
            raise _unavailable(served.version, "interval calibrations", "interval_unavailable")
        lower, upper = served.intervals.bounds_of(prices, request.interval)
        for row, low, high in zip(rows, lower, upper, strict=True):
            row["lower"], row["upper"] = low, high
    if request.comparables is not None:
        if served.comparables is None:
            raise _unavailable(served.version, "comparables", "comparables_unavailable")
        _check_may_see_rows(caller, served)
        for row, record in zip(rows, request.instances, strict=True):
            row["comparables"] = served.comparables.nearest(record, request.comparables)
    return rows


def read_log(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    model_version: int | None,
    limit: int,
) -> Sequence[PredictionLog]:
    """Log rows, newest first. Timestamps without an offset are taken as UTC."""
    since, until = _as_utc(since), _as_utc(until)
    if since is not None and until is not None and since >= until:
        raise InvalidInput(
            f"since ({since.isoformat()}) must be earlier than until ({until.isoformat()})",
            code="invalid_range",
        )
    return repository.list_entries(
        session, since=since, until=until, model_version=model_version, limit=limit
    )


def _as_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
