"""Every request leaves one access-log line and echoes its request id."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.auth.conftest import CapturedLogs
from tests.fixtures.db import MakeUser


def test_a_request_is_logged_once_with_route_status_user_and_id(
    client: TestClient,
    make_user: MakeUser,
    member_headers: dict[str, str],
    captured_logs: CapturedLogs,
) -> None:
    answer = client.get("/v1/ping", headers={**member_headers, "X-Request-ID": "req-access-1"})
    assert answer.status_code == 200
    assert answer.headers["X-Request-ID"] == "req-access-1"
    [line] = [e for e in captured_logs.events("request") if e["request_id"] == "req-access-1"]
    assert line["route"] == "/v1/ping"
    assert line["method"] == "GET"
    assert line["status"] == 200
    assert line["user_id"] == answer.json()["user_id"]
    assert line["latency_ms"] >= 0


def test_refused_and_unknown_requests_are_logged_with_their_status(
    client: TestClient, captured_logs: CapturedLogs
) -> None:
    refused = client.get("/v1/ping")
    assert refused.status_code == 401
    generated = refused.headers["X-Request-ID"]
    assert len(generated) == 32  # a fresh id when the caller sent none
    missing = client.get("/v1/no-such-route", headers={"X-Request-ID": "req-access-2"})
    assert missing.status_code == 404
    by_id = {e["request_id"]: e for e in captured_logs.events("request")}
    assert by_id[generated]["status"] == 401
    assert by_id[generated]["user_id"] is None
    assert by_id["req-access-2"]["status"] == 404
    assert by_id["req-access-2"]["route"] == "unmatched"
