"""An alias moved through one API process is served by another within a second."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from api.auth.tokens import issue_access_token
from api.db.session import session_scope
from api.users.service import create_user
from tests.fixtures.db import TEST_PASSWORD, hashed_test_password
from tests.predictions.conftest import TrainedModel, instance, register

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _app_target() -> str:
    """``api.main:create_app`` once it serves predictions, else the test wrapper."""
    from api.main import create_app

    paths = {getattr(route, "path", None) for route in create_app().routes}
    if {"/v1/predictions", "/v1/models"} <= paths:
        return "api.main:create_app"
    return "tests.predictions.app:create_app"


@pytest.fixture
def two_api_processes(committed_db: Engine) -> Iterator[list[str]]:
    target = _app_target()
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env={**os.environ, "TASADOR_ALIAS_REFRESH_SECONDS": "0.5"},
        )
        for port in ports
    ]  # fmt: skip
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url, process in zip(urls, processes, strict=True):
            _wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API process at {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the API process at {url} did not start within 60 s")


def test_serving_follows_an_alias_move_within_one_second_across_processes(
    two_api_processes: list[str], trained_models: list[TrainedModel]
) -> None:
    with session_scope() as session:
        admin = create_user(
            session, "alias-mover", TEST_PASSWORD, "admin", password_hash=hashed_test_password()
        )
        old = register(session, trained_models[0], alias="production")
        new = register(session, trained_models[1], alias=None)
    headers = {"Authorization": f"Bearer {issue_access_token(admin.id, admin.role).token}"}
    mover, server = two_api_processes
    body = {"instances": [instance()]}

    with httpx.Client(base_url=server, headers=headers, timeout=10) as other:
        assert other.post("/v1/predictions", json=body).json()["model_version"] == old
        # Load the new version beforehand: what is timed is the alias, not a model load.
        warm = other.post("/v1/predictions", json={**body, "model": new})
        assert warm.json()["model_version"] == new

        moved = httpx.put(
            f"{mover}/v1/models/aliases/production", json={"version": new}, headers=headers
        )
        assert moved.status_code == 200, moved.text
        started = time.monotonic()
        version = old
        while version == old and time.monotonic() - started < 5:
            version = other.post("/v1/predictions", json=body).json()["model_version"]
        elapsed = time.monotonic() - started

    assert version == new
    assert elapsed < 1.0, f"the other process served the old version for {elapsed:.2f} s"
