"""Issue 12, item 5: request ids are short and plain, and no row can stall the prediction log.

The attack: an ``X-Request-ID`` over 64 characters made the log's batch insert
fail and retry forever, so that API process logged no prediction again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.db.tables.prediction_log import PredictionLog
from api.ml.schema import FEATURES
from api.predictions.log_buffer import PredictionEvent
from api.predictions.serving import get_serving
from tests.predictions.conftest import instance

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_short_plain_request_id_is_used_and_echoed(client: TestClient) -> None:
    presented = "Abc.def_ghi-0123456789" + "x" * 42  # 64 characters, all allowed
    assert len(presented) == 64
    response = client.get("/healthz", headers={"X-Request-ID": presented})
    assert response.headers["X-Request-ID"] == presented


@pytest.mark.parametrize(
    "presented",
    ["A" * 65, "has space", "semi;colon", 'quote"d', "ünïcödé".encode(), "<script>", ""],
    ids=["65-chars", "space", "semicolon", "quote", "non-ascii", "markup", "empty"],
)
def test_a_long_or_unusual_request_id_is_replaced_by_a_generated_one(
    client: TestClient, presented: str | bytes
) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": presented})
    used = response.headers["X-Request-ID"]
    assert used != (presented.decode() if isinstance(presented, bytes) else presented)
    assert GENERATED.fullmatch(used)


@pytest.fixture
def log_api(committed_db: Engine, api: TestClient) -> Iterator[TestClient]:
    """The predictions app; rows its flusher commits are truncated after the test."""
    yield api


def _logged(session: Session, request_id: str) -> int:
    stmt = select(PredictionLog.id).where(PredictionLog.request_id == request_id)
    return len(session.scalars(stmt).all())


def _predict(client: TestClient, headers: dict[str, str], request_id: str) -> str:
    response: httpx.Response = client.post(
        "/v1/predictions",
        json={"instances": [instance(), instance(type="casa")]},
        headers={**headers, "X-Request-ID": request_id},
    )
    assert response.status_code == 200, response.text
    return response.headers["X-Request-ID"]


def _bad_event(request_id: str) -> PredictionEvent:
    values = {name: 1.0 for name in FEATURES} | {"type": "casa", "sector": "nunoa"}
    return PredictionEvent(
        created_at=datetime.now(UTC),
        request_id=request_id,
        user_id=None,
        model="production",
        model_version=1,
        latency_ms=1.0,
        instances=[values],
        prices=[1.0],
    )


def _metric(client: TestClient, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not exported")


def test_the_long_request_id_attack_leaves_the_prediction_log_working(
    log_api: TestClient,
    member_headers: dict[str, str],
    registered_model: int,
    db_session: Session,
) -> None:
    attack = "A" * 100
    used = _predict(log_api, member_headers, attack)
    assert used != attack and GENERATED.fullmatch(used)
    _predict(log_api, member_headers, "after-the-attack")
    log = get_serving().log
    log.flush()
    assert _logged(db_session, used) == 2
    assert _logged(db_session, "after-the-attack") == 2
    assert _logged(db_session, attack) == 0

    # A row the database refuses anyway (here: pushed past the request-id check)
    # is dropped and counted; the rows around it are written.
    log.add(_bad_event("B" * 100))
    _predict(log_api, member_headers, "next-to-a-bad-row")
    log.flush()
    assert _logged(db_session, "next-to-a-bad-row") == 2
    stats = log.stats()
    assert stats.rejected_rows == 1
    assert stats.buffered_rows == 0  # nothing left behind to retry forever
    assert _metric(log_api, "tasador_prediction_log_rejected_rows_total") == 1.0

    _predict(log_api, member_headers, "much-later")
    log.flush()
    assert _logged(db_session, "much-later") == 2
