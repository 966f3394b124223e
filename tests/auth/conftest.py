"""Helpers for the auth tests: logging in through the app and reading the logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient


def log_in(client: TestClient, username: str, password: str) -> httpx.Response:
    response: httpx.Response = client.post(
        "/v1/auth/token", data={"username": username, "password": password}
    )
    return response


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class CapturedLogs:
    """Every log line as the service would write it (JSON), plus the parsed events."""

    def __init__(self, handler: _Collect) -> None:
        self._handler = handler

    @property
    def text(self) -> str:
        return "\n".join(self._handler.lines)

    def events(self, name: str) -> list[dict[str, Any]]:
        parsed = [json.loads(line) for line in self._handler.lines if line.startswith("{")]
        return [event for event in parsed if event.get("event") == name]


@pytest.fixture
def captured_logs(client: TestClient) -> Iterator[CapturedLogs]:
    # After `client`: creating the app installs the service's log handler, whose
    # formatter (the real JSON renderer) this handler reuses.
    root = logging.getLogger()
    handler = _Collect()
    handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    try:
        yield CapturedLogs(handler)
    finally:
        root.removeHandler(handler)
