"""``/readyz`` against the real Postgres, Redis and object store, and ``/metrics``.

A dependency is taken "down" by pointing the application at a port nothing
listens on (port 1 on 127.0.0.1 refuses at once), which is what a stopped
Postgres or Redis looks like from the API's side.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api import queue
from api.auth.tokens import issue_access_token
from api.config import Settings, get_settings
from api.db.engine import build_engine, configure_engine
from api.health import checks
from api.storage import reset_store

CLOSED_PORT = 1


def _admin() -> dict[str, str]:
    # The admin role is read from the signed token, so no user row is needed.
    return {"Authorization": f"Bearer {issue_access_token(1, 'admin').token}"}


@pytest.fixture
def broker_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Point the broker URL somewhere else for one test; restored afterwards."""

    def point(url: str) -> None:
        monkeypatch.setenv("TASADOR_BROKER_URL", url)
        get_settings.cache_clear()
        queue.reset_producer()

    yield point
    monkeypatch.undo()
    get_settings.cache_clear()
    queue.reset_producer()


def _ready(client: TestClient) -> tuple[int, dict[str, Any], float]:
    """``/readyz`` as an admin sees it (with the detail); anonymous callers: tests/security."""
    started = time.monotonic()
    response = client.get("/readyz", headers=_admin())
    return response.status_code, response.json(), time.monotonic() - started


def test_ready_when_database_broker_and_store_answer(client: TestClient) -> None:
    status, body, _ = _ready(client)
    assert status == 200, body
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "object_store": "ok"},
    }


def test_ready_with_the_s3_store(client: TestClient, s3_settings: Settings) -> None:
    status, body, _ = _ready(client)
    assert status == 200, body
    assert body["checks"]["object_store"] == "ok"


def test_missing_bucket_makes_the_store_not_ready(
    client: TestClient, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASADOR_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("TASADOR_BUCKET", "no-such-bucket-for-readyz")
    get_settings.cache_clear()
    reset_store()
    try:
        status, body, _ = _ready(client)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        reset_store()
    assert status == 503
    assert body["error"]["code"] == "not_ready"
    assert set(body["error"]["details"]) == {"object_store"}
    assert "no-such-bucket-for-readyz" in body["error"]["details"]["object_store"]


def test_unreachable_database_is_named_and_recovery_is_seen(
    client: TestClient, migrated_engine: Engine
) -> None:
    url = migrated_engine.url.set(port=CLOSED_PORT).render_as_string(hide_password=False)
    dead = build_engine(url)
    configure_engine(dead)
    try:
        status, body, elapsed = _ready(client)
    finally:
        configure_engine(migrated_engine)
        dead.dispose()
    assert status == 503
    assert body["error"]["code"] == "not_ready"
    assert set(body["error"]["details"]) == {"database"}
    assert "database" in body["error"]["message"]
    assert elapsed < checks.TIMEOUT_SECONDS  # a refused connection fails at once

    status, body, _ = _ready(client)
    assert status == 200, body


def test_unreachable_broker_is_named_and_recovery_is_seen(
    client: TestClient, broker_at: Any
) -> None:
    working = get_settings().broker_url
    broker_at(f"redis://127.0.0.1:{CLOSED_PORT}/0")
    status, body, elapsed = _ready(client)
    assert status == 503
    assert body["error"]["code"] == "not_ready"
    assert set(body["error"]["details"]) == {"broker"}
    assert "broker" in body["error"]["message"]
    assert elapsed < 1.5  # one attempt, no retry sleep

    broker_at(working)
    status, body, _ = _ready(client)
    assert status == 200, body


@pytest.mark.services  # the other checks run against the real broker and store
def test_hung_check_times_out_without_starting_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check that never answers (packets dropped, not refused) must not pile up threads."""
    release = threading.Event()
    calls: list[float] = []

    def hangs() -> str | None:
        calls.append(time.monotonic())
        release.wait(30)
        return None

    monkeypatch.setattr(checks, "TIMEOUT_SECONDS", 0.3)
    monkeypatch.setitem(checks.CHECKS, "database", hangs)
    try:
        started = time.monotonic()
        first = checks.run_all()
        second = checks.run_all()
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert first["database"] == second["database"]
    assert first["database"] is not None and "no answer" in first["database"]
    assert first["broker"] is None and second["object_store"] is None
    assert len(calls) == 1  # the second probe waited on the first, unfinished run
    assert elapsed < 1.5

    monkeypatch.setitem(checks.CHECKS, "database", lambda: None)
    deadline = time.monotonic() + 5
    while checks.run_all()["database"] is not None:  # the hung run has now ended
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_metrics_exposes_prometheus_text_with_request_counts(client: TestClient) -> None:
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "# TYPE tasador_http_requests_total counter" in lines
    healthz = [
        line
        for line in lines
        if line.startswith("tasador_http_requests_total{") and 'route="/healthz"' in line
    ]
    assert healthz, response.text[:2000]
    assert float(healthz[0].rsplit(" ", 1)[1]) >= 1
