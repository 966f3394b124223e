"""Fixtures for webhook tests: a scripted loopback receiver and fast settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.config import get_settings
from tests.webhooks.receiver import Receiver

# Short timings so retry, timeout and backoff paths finish within a test; loopback
# is allowed explicitly, as the SSRF guard refuses it otherwise.
FAST_WEBHOOK_ENV = {
    "TASADOR_WEBHOOK_ALLOW_HTTP": "true",
    "TASADOR_WEBHOOK_ALLOWED_HOSTS": '["127.0.0.1"]',
    "TASADOR_WEBHOOK_CONNECT_TIMEOUT": "1",
    "TASADOR_WEBHOOK_READ_TIMEOUT": "0.5",
    "TASADOR_WEBHOOK_BACKOFF_BASE_SECONDS": "0.05",
    "TASADOR_WEBHOOK_MAX_ATTEMPTS": "4",
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Settings for webhook tests, read afresh and restored afterwards."""
    for name, value in FAST_WEBHOOK_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield dict(FAST_WEBHOOK_ENV)
    monkeypatch.undo()
    get_settings.cache_clear()
