"""Honest status codes: an outage is a 503 with Retry-After, a client that left is a 499.

Neither is an internal error: no 500 answered or counted, no traceback logged.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import kombu.exceptions
import pytest
import redis.exceptions
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.auth.tokens import issue_access_token
from api.db.engine import build_engine, configure_engine
from api.main import create_app
from api.observability import REGISTRY
from tests.fixtures.logs import CapturedLines
from tests.fixtures.server import LiveServer
from tests.fixtures.worker import log_in_committed_member

INSTANCE = {
    "type": "casa", "sector": "vitacura", "net_usable_area": 140, "net_area": 170,
    "n_rooms": 4, "n_bathroom": 4, "latitude": -33.4, "longitude": -70.58,
}  # fmt: skip


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def database_down(migrated_engine: Engine) -> Iterator[None]:
    """The app's engine points at a port where no database listens."""
    dead = build_engine(f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/tasador")
    configure_engine(dead)
    try:
        yield
    finally:
        dead.dispose()
        configure_engine(migrated_engine)


@pytest.fixture
def client_without_database(database_down: None) -> TestClient:
    return TestClient(create_app())


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "service_unavailable"
    assert int(answer.headers["Retry-After"]) > 0


def test_a_database_outage_answers_503_with_retry_after_on_every_route(
    client_without_database: TestClient, service_logs: CapturedLines
) -> None:
    client = client_without_database
    bearer = {"Authorization": f"Bearer {issue_access_token(1, 'member').token}"}
    calls: list[Callable[[], httpx.Response]] = [
        lambda: client.get("/v1/jobs", headers=bearer),
        lambda: client.post("/v1/predictions", json={"instances": [INSTANCE]}, headers=bearer),
        lambda: client.get("/v1/jobs", headers={"X-API-Key": "tsk_" + "x" * 43}),
        lambda: client.post("/v1/auth/token", data={"username": "a", "password": "b"}),
    ]
    for call in calls:
        assert_unavailable(call())
    assert "unhandled_error" not in service_logs.text
    assert "Traceback" not in service_logs.text
    [first, *_] = service_logs.events("dependency_unavailable")
    assert first["dependency"] == "database" and first["level"] == "warning"


@pytest.mark.parametrize(
    "error",
    [
        kombu.exceptions.OperationalError("Error 111 connecting to redis:6379"),
        redis.exceptions.ConnectionError("Connection refused"),
    ],
)
def test_a_broker_outage_answers_503_with_retry_after(error: Exception) -> None:
    app = create_app()

    @app.get("/test-broker")
    def _broker_call() -> None:
        raise error

    assert_unavailable(TestClient(app).get("/test-broker"))


# A client that hangs up -------------------------------------------------------


def http_count(route: str, status: str) -> float:
    labels = {"route": route, "method": "POST", "status": status}
    return REGISTRY.get_sample_value("tasador_http_requests_total", labels) or 0.0


def call_and_hang_up(app: FastAPI, path: str, headers: dict[str, str]) -> list[Any]:
    """Drive ``app`` as a server would for a client that sends half a body and leaves."""
    sent: list[Any] = []
    incoming = iter(
        [
            {"type": "http.request", "body": b'{"instances": [', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Any:
        message = next(incoming, None)
        if message is None:
            await asyncio.sleep(3600)
        return message

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 40000), "server": ("testserver", 80),
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json"),
                    (b"content-length", b"2000")]
        + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return sent


@pytest.mark.parametrize("path", ["/v1/predictions", "/v1/jobs/training"])
def test_a_client_that_hangs_up_is_logged_as_499_not_as_an_error(
    client: TestClient, member_headers: dict[str, str], service_logs: CapturedLines, path: str
) -> None:
    errors_before = http_count(path, "500")
    gone_before = http_count(path, "499")
    call_and_hang_up(client.app, path, member_headers)  # type: ignore[arg-type]
    [line] = [e for e in service_logs.events("request") if e["route"] == path]
    assert line["status"] == 499 and line["client_disconnected"] is True
    assert http_count(path, "499") == gone_before + 1
    assert http_count(path, "500") == errors_before
    assert "unhandled_error" not in service_logs.text
    assert "Traceback" not in service_logs.text
    assert not [e for e in service_logs.events() if e["level"] in {"error", "critical"}]


def wait_for(predicate: Any, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_clients_hanging_up_on_a_real_server_leave_no_error_or_traceback(
    live_server: LiveServer, service_logs: CapturedLines
) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        headers = log_in_committed_member(http)  # type: ignore[arg-type]
    auth = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    for path in ("/v1/predictions", "/v1/jobs/training"):
        with socket.create_connection(("127.0.0.1", live_server.port)) as conn:
            head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
            conn.sendall(f"{head}Content-Length: 5000\r\n\r\n".encode() + b'{"instances": [')
            time.sleep(0.2)  # the request is in the app, waiting for the rest of its body

    def gone() -> list[dict[str, Any]]:
        return [e for e in service_logs.events("request") if e["status"] == 499]

    assert wait_for(lambda: len(gone()) == 2), service_logs.text
    assert {e["route"] for e in gone()} == {"/v1/predictions", "/v1/jobs/training"}
    assert "Traceback" not in service_logs.text
    assert "Exception in ASGI application" not in service_logs.text
    assert not [e for e in service_logs.events() if e["level"] in {"error", "critical"}]
