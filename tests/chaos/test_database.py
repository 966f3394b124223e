"""Postgres stops while a training job runs, then comes back.

During the outage the API must say so honestly: ``503`` with ``Retry-After``, as
``/readyz`` does, never ``500 internal_error``. After the restart everything
answers again without restarting a process, and the job that was running ends
once, with one model version.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import (
    INSTANCE,
    artifact_problem,
    models_of_job,
    poll_until,
    predict,
    running_past,
    status_of,
    submit,
    upload_csv,
    wait_job,
)
from tests.chaos.results import Record, Stopwatch

pytestmark = pytest.mark.timeout(300)

OUTAGE_SECONDS = 8  # longer than the heartbeat timeout: the job's owner looks lost


def _during_outage(cluster: Cluster, model: int) -> dict[str, dict[str, Any]]:
    """One call of each kind while the database is down: how it was answered."""
    # name -> (method, path, JSON body or None, headers)
    calls: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, str]]] = {
        "GET /v1/jobs": ("GET", "/v1/jobs", None, cluster.headers),
        "POST /v1/predictions": (
            "POST", "/v1/predictions", {"model": model, "instances": [INSTANCE]},
            {"X-API-Key": cluster.api_key},
        ),
        "GET /readyz": ("GET", "/readyz", None, {}),
    }  # fmt: skip
    seen: dict[str, dict[str, Any]] = {}
    for name, (method, path, body, headers) in calls.items():
        clock = Stopwatch()
        try:
            url = cluster.api_url + path
            answer = httpx.request(method, url, headers=headers, timeout=15, json=body)
        except httpx.HTTPError as exc:
            seen[name] = {"status": 0, "error": type(exc).__name__, "seconds": clock()}
            continue
        try:
            code = answer.json().get("error", {}).get("code")
        except ValueError:
            code = None
        seen[name] = {
            "status": answer.status_code,
            "retry_after": answer.headers.get("retry-after"),
            "code": code,
            "seconds": round(clock(), 3),
        }
    return seen


def test_database_outage_answers_503_then_recovers_and_the_running_job_ends_once(
    cluster: Cluster, production: dict[str, Any], record: Record
) -> None:
    assert cluster.postgres is not None
    cluster.ensure_workers(2)
    before = cluster.pids()
    uri, _ = upload_csv(cluster, 8000, seed=7, with_price=True)
    body = {"train_data": uri, "preset": "notebook", "params": {"n_estimators": 800},
            "promote": "never"}  # fmt: skip
    job = submit(cluster, "training", body)
    running = wait_job(cluster, job["id"], 120, until=running_past(0.15))
    assert running["status"] == "running", f"the job ended before the outage: {running}"

    down = Stopwatch()
    cluster.postgres.stop()
    seen = _during_outage(cluster, production["model_version"])
    for name, answer in seen.items():
        record.figure(f"outage {name}", answer)
    time.sleep(max(0.0, OUTAGE_SECONDS - down()))
    cluster.postgres.start()
    back = Stopwatch()
    jobs_back = poll_until(lambda: status_of(cluster, "GET", "/v1/jobs") == 200, 60)
    record.figure("jobs_200_after_restart_s", jobs_back if jobs_back is not None else "never")
    ready = poll_until(lambda: status_of(cluster, "GET", "/readyz") == 200, 60)
    record.figure("readyz_200_after_restart_s", ready if ready is not None else "never")
    prediction = predict(cluster, production["model_version"])
    done = wait_job(cluster, job["id"], 240)
    record.figure("job_ended_after_restart_s", back())
    record.figure("job_attempts", done["attempts"])
    after = cluster.pids()

    for name in ("GET /v1/jobs", "POST /v1/predictions", "GET /readyz"):
        assert seen[name]["status"] == 503, f"{name} answered {seen[name]} during the outage"
    for name in ("GET /v1/jobs", "POST /v1/predictions"):
        assert seen[name]["retry_after"], f"{name}'s 503 has no Retry-After: {seen[name]}"
    assert jobs_back is not None and ready is not None, "the API did not recover"
    assert prediction.status_code == 200, f"after recovery: {prediction.text}"
    assert after == before, f"processes restarted or died: before {before}, after {after}"
    assert done["status"] == "succeeded", f"job ended {done['status']}: {done['error']}"
    versions = models_of_job(cluster, job["id"])
    assert [v["version"] for v in versions] == [done["result"]["model_version"]], versions
    assert artifact_problem(cluster, done["result"]["artifact_uri"]) is None
