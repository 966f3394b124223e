"""A job's Celery task: named by the job id, on a queue every worker declares."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import queue
from api.config import get_settings
from tests.jobs.test_jobs_api import submit
from worker.config import celery_config


def test_the_task_id_is_the_job_id(
    client: TestClient,
    member_headers: dict[str, str],
    training_csv: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[dict[str, Any]] = []

    def capture(task_name: str, args: list[Any], queue_name: str, *_: Any, **kw: Any) -> None:
        sent.append({"task": task_name, "args": args, "queue": queue_name, **kw})

    monkeypatch.setattr(queue, "send", capture)
    job = submit(client, member_headers, training_csv).json()
    assert sent == [
        {
            "task": queue.TASK_RUN_TRAINING,
            "args": [job["id"]],
            "queue": queue.QUEUE_TRAINING,
            "countdown": None,
            "task_id": job["id"],
        }
    ]


def test_every_worker_declares_all_three_queues() -> None:
    declared = {q.name for q in celery_config(get_settings())["task_queues"]}
    assert declared == {"training", "inference", "webhooks"}
