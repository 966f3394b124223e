"""Commit, then answer: a returned job id is always found, and a broker outage is told.

The submit's transaction commits and its task is handed to the broker before the
response leaves. A real HTTP server is used where it matters: the in-process
TestClient waits for the whole request to finish, so it cannot see an answer
that leaves before the commit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from api import queue
from api.config import get_settings
from api.db.session import session_scope
from api.db.tables.job import Job
from api.storage import get_store
from tests.fixtures.logs import CapturedLines
from tests.fixtures.server import LiveServer
from tests.fixtures.worker import log_in_committed_member, own_data_uri
from tests.jobs.conftest import FAST_PARAMS
from tests.test_status_codes import closed_port


def copy_to_own(client: Any, headers: dict[str, str], uri: str) -> str:
    """The same CSV among the caller's own datasets (a member reads only those)."""
    own = own_data_uri(client, headers)
    get_store().put_bytes(own, get_store().get_bytes(uri))
    return own


@pytest.fixture
def slow_commits(committed_db: Engine) -> Iterator[None]:
    """Every commit takes 0.1 s longer, so an answer sent before its commit is caught."""

    def slow(_connection: Any) -> None:
        time.sleep(0.1)

    event.listen(committed_db, "commit", slow)
    yield
    event.remove(committed_db, "commit", slow)


def test_a_job_is_found_by_a_get_sent_the_moment_its_submit_answers(
    live_server: LiveServer, training_csv: str, slow_commits: None
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        headers = log_in_committed_member(http)  # type: ignore[arg-type]
        body = {"train_data": copy_to_own(http, headers, training_csv), "params": FAST_PARAMS}
        found = []
        for _ in range(20):
            submitted = http.post("/v1/jobs/training", json=body, headers=headers)
            assert submitted.status_code == 202, submitted.text
            job_id = submitted.json()["id"]
            found.append(http.get(f"/v1/jobs/{job_id}", headers=headers).status_code)
    assert found == [200] * 20


@pytest.fixture
def broker_down() -> Iterator[None]:
    """The producer points at a port where no broker listens."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TASADOR_BROKER_URL", f"redis://127.0.0.1:{closed_port()}/0")
        get_settings.cache_clear()
        queue.reset_producer()
        yield
    get_settings.cache_clear()
    queue.reset_producer()


def test_a_submit_while_the_broker_is_down_is_kept_and_answered_202_with_retry_after(
    live_client: TestClient, training_csv: str, broker_down: None, service_logs: CapturedLines
) -> None:
    headers = log_in_committed_member(live_client)
    body = {"train_data": copy_to_own(live_client, headers, training_csv), "params": FAST_PARAMS}
    answer = live_client.post("/v1/jobs/training", json=body, headers=headers)
    assert answer.status_code == 202, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    job = answer.json()
    assert job["status"] == "queued"
    assert live_client.get(f"/v1/jobs/{job['id']}", headers=headers).status_code == 200
    with session_scope() as session:
        row = session.get(Job, uuid.UUID(job["id"]))
        assert row is not None and row.status == "queued"
    [warning] = service_logs.events("task_send_failed")
    assert warning["level"] == "warning"
    assert "unhandled_error" not in service_logs.text
