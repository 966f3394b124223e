"""Issue 12, item 10 (operations): what anonymous callers learn, and how the API may run.

The attacks: ``/metrics`` and the detail of ``/readyz`` (the names of what is
down, and why) were public; ``tasador serve`` ran with the publicly known
development key on any address, so anyone could forge an admin token.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import queue
from api.auth.tokens import issue_access_token
from api.cli import app as cli
from api.commands.services import is_loopback
from api.config import get_settings
from tests.security.server import free_port

ROOT = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """Set a ``TASADOR_*`` variable for one test; settings and the producer are re-read."""

    def set_env(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        queue.reset_producer()

    yield set_env
    monkeypatch.undo()
    get_settings.cache_clear()
    queue.reset_producer()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _admin() -> dict[str, str]:
    return _bearer(issue_access_token(1, "admin").token)


def _member() -> dict[str, str]:
    return _bearer(issue_access_token(2, "member").token)


def test_anonymous_readyz_says_ready_and_nothing_more(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_anonymous_readyz_says_not_ready_without_naming_what_is_down(
    client: TestClient, settings_env: Callable[[str, str], None]
) -> None:
    settings_env("TASADOR_BROKER_URL", "redis://127.0.0.1:1/0")
    for headers in ({}, _member(), _bearer("not-a-token")):
        response = client.get("/readyz", headers=headers)
        assert response.status_code == 503
        assert response.json() == {
            "error": {"code": "not_ready", "message": "not ready", "details": None}
        }
        assert "broker" not in response.text and "6379" not in response.text


def test_an_admin_or_the_metrics_token_sees_what_is_down(
    client: TestClient, settings_env: Callable[[str, str], None]
) -> None:
    settings_env("TASADOR_METRICS_TOKEN", METRICS_TOKEN)
    settings_env("TASADOR_BROKER_URL", "redis://127.0.0.1:1/0")
    for headers in (_admin(), _bearer(METRICS_TOKEN)):
        response = client.get("/readyz", headers=headers)
        assert response.status_code == 503
        assert set(response.json()["error"]["details"]) == {"broker"}


def test_metrics_needs_the_metrics_token_when_it_is_set(
    client: TestClient, settings_env: Callable[[str, str], None]
) -> None:
    settings_env("TASADOR_METRICS_TOKEN", METRICS_TOKEN)
    for headers in ({}, _bearer("wrong"), _admin()):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "not_authenticated"
        assert "tasador_" not in refused.text
    allowed = client.get("/metrics", headers=_bearer(METRICS_TOKEN))
    assert allowed.status_code == 200
    assert "# TYPE tasador_http_requests_total counter" in allowed.text


def test_compose_sets_the_metrics_token_from_env_and_the_example_leaves_it_empty() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert compose["x-tasador-env"]["TASADOR_METRICS_TOKEN"].startswith("${TASADOR_METRICS_TOKEN:?")
    example = (ROOT / ".env.example").read_text().splitlines()
    assert "TASADOR_METRICS_TOKEN=" in example


# ---------------------------------------------------------------- tasador serve


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_serve_refuses_the_development_key_on_a_public_address() -> None:
    assert get_settings().secret_key.get_secret_value().startswith("dev-")  # the test default
    port = free_port()
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", str(port)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "development secret key" in lines[0] and "0.0.0.0" in lines[0]
    assert "TASADOR_SECRET_KEY" in lines[0]
    assert not _listening(port)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True), ("[::1]", True),
     ("localhost", True), ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
     ("api.example.com", False)],
)  # fmt: skip
def test_only_loopback_addresses_may_serve_with_the_development_key(
    host: str, loopback: bool
) -> None:
    assert is_loopback(host) is loopback


def test_serve_starts_on_a_public_address_with_a_key_of_its_own(
    monkeypatch: pytest.MonkeyPatch, settings_env: Callable[[str, str], None]
) -> None:
    import uvicorn

    started: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    settings_env("TASADOR_SECRET_KEY", "a-key-nobody-else-knows-0123456789abcdef")
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "8000"])
    assert result.exit_code == 0, result.output
    assert started and started[0]["host"] == "0.0.0.0"
