"""Jobs end to end: the HTTP API, a real Celery worker, Redis, Postgres and S3.

These tests commit for real (the worker is another process) and clean up with
``committed_db``.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
import redis
from fastapi.testclient import TestClient

from api.config import get_settings
from api.db.session import session_scope
from api.ml.charts import CHART_NAMES
from api.ml.schema import FEATURES
from api.ml.synth import generate
from api.registry import artifacts
from api.registry import service as registry_service
from api.storage import get_store
from tests.fixtures.worker import (
    Worker,
    log_in_committed_member,
    own_data_uri,
    staging_left,
    wait_for_job,
)
from tests.jobs.conftest import FAST_PARAMS, csv_bytes

pytestmark = pytest.mark.integration


@pytest.fixture
def headers(live_client: TestClient) -> dict[str, str]:
    """A committed member and a bearer token obtained by logging in."""
    return log_in_committed_member(live_client)


def upload(client: TestClient, headers: dict[str, str], frame: pd.DataFrame) -> str:
    files = {"file": ("homes.csv", csv_bytes(frame), "text/csv")}
    response = client.post("/v1/datasets", files=files, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["uri"])


def train(client: TestClient, headers: dict[str, str], uri: str, **extra: Any) -> dict[str, Any]:
    body = {"train_data": uri, "params": FAST_PARAMS, **extra}
    response = client.post("/v1/jobs/training", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def test_upload_train_poll_then_batch_predicts_every_row_like_the_model(
    live_client: TestClient, headers: dict[str, str], start_worker: Callable[..., Worker]
) -> None:
    start_worker()
    uri = upload(live_client, headers, generate(1_500, seed=1))
    job = wait_for_job(live_client, headers, train(live_client, headers, uri)["id"])
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0 and job["attempts"] == 1
    result = job["result"]
    assert set(result["metrics"]) == {
        "rmse", "mae", "mape", "median_ape", "within_10pct",
        "interval_80_coverage", "interval_80_width", "interval_90_coverage", "interval_90_width",
    }  # fmt: skip
    assert result["promoted"] is False  # a member's model never moves production
    assert result["artifact_uri"] is None  # nor does a member see where artifacts live
    version = result["model_version"]
    # The registering attempt draws the version's charts right after recording it.
    model_uri = artifacts.artifact_uri(job["id"])
    deadline = time.monotonic() + 15
    while not all(get_store().exists(artifacts.chart_uri(model_uri, n)) for n in CHART_NAMES):
        assert time.monotonic() < deadline, "the charts were not drawn"
        time.sleep(0.1)

    batch_input = generate(1_200, seed=2).drop(columns=["price"])
    batch_input.loc[5, "type"] = "castle"  # one invalid row
    batch_input.loc[9, "net_area"] = -3.0  # and another
    batch_uri = own_data_uri(live_client, headers)
    get_store().put_bytes(batch_uri, csv_bytes(batch_input))
    response = live_client.post(
        "/v1/jobs/batch-inference",
        json={"input_data": batch_uri, "model": version, "interval": 0.8},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    assert response.json()["model_version"] == version
    done = wait_for_job(live_client, headers, response.json()["id"])
    assert done["status"] == "succeeded", done
    out = done["result"]
    assert out["rows"] == 1_198 and out["failed_rows"] == 2
    assert out["model_version"] == version

    user_id = live_client.get("/v1/users/me", headers=headers).json()["id"]
    assert out["output_data"].startswith(f"s3://tasador/outputs/{user_id}/{done['id']}/")
    predicted = pd.read_csv(io.BytesIO(get_store().get_bytes(out["output_data"])))
    expected_rows = batch_input.drop(index=[5, 9]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        predicted[list(batch_input.columns)], expected_rows, check_dtype=False
    )
    with session_scope() as session:
        artifact_uri = registry_service.get(session, version).artifact_uri
    model = artifacts.load(artifact_uri).estimator
    np.testing.assert_allclose(
        predicted["price_pred"].to_numpy(), model.predict(expected_rows[FEATURES]), rtol=1e-6
    )
    # The asked 80 % range around every price.
    assert list(predicted.columns[-3:]) == ["price_pred", "price_lower", "price_upper"]
    assert (predicted["price_lower"] < predicted["price_pred"]).all()
    assert (predicted["price_pred"] < predicted["price_upper"]).all()
    errors = pd.read_csv(io.BytesIO(get_store().get_bytes(out["errors_data"])))
    assert sorted(errors["row"].unique()) == [6, 10]  # 1-based data rows
    assert set(errors["column"]) == {"type", "net_area"}


def test_a_worker_killed_mid_training_does_not_lose_the_job(
    live_client: TestClient, headers: dict[str, str], start_worker: Callable[..., Worker]
) -> None:
    doomed = start_worker(queues="training", concurrency=1)
    uri = upload(live_client, headers, generate(3_000, seed=3))
    slow = {"n_estimators": 800, "max_depth": 6}
    job_id = train(live_client, headers, uri, params=slow)["id"]
    wait_for_job(live_client, headers, job_id, until=lambda j: j["progress"] > 0.15)
    doomed.stop(signal.SIGKILL)

    start_worker(queues="training", concurrency=1)
    # Shorten the second run: the job's request is what it is, so let it finish.
    job = wait_for_job(live_client, headers, job_id, timeout=240)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 2


def test_cancelling_a_running_batch_job_leaves_no_output(
    live_client: TestClient, headers: dict[str, str], start_worker: Callable[..., Worker]
) -> None:
    start_worker()
    uri = upload(live_client, headers, generate(800, seed=4))
    trained = wait_for_job(live_client, headers, train(live_client, headers, uri)["id"])
    assert trained["status"] == "succeeded"
    big = pd.concat([generate(50_000, seed=s).drop(columns=["price"]) for s in range(6)])
    batch_uri = own_data_uri(live_client, headers)
    get_store().put_bytes(batch_uri, csv_bytes(big))
    output = own_data_uri(live_client, headers, "outputs")
    version = trained["result"]["model_version"]
    body = {"input_data": batch_uri, "output_data": output, "model": version}
    job_id = live_client.post("/v1/jobs/batch-inference", json=body, headers=headers).json()["id"]
    wait_for_job(live_client, headers, job_id, until=lambda j: j["status"] == "running")
    cancel = live_client.post(f"/v1/jobs/{job_id}/cancel", headers=headers)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    time.sleep(3)  # give the worker time to notice and abort its uploads
    assert not get_store().exists(output)
    assert staging_left(job_id) == []
    assert live_client.get(f"/v1/jobs/{job_id}", headers=headers).json()["status"] == "cancelled"


def test_a_job_whose_message_was_lost_runs_within_the_resend_delay(
    live_client: TestClient,
    headers: dict[str, str],
    start_worker: Callable[..., Worker],
    worker_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(worker_env, "TASADOR_QUEUED_RESEND_SECONDS", "1")
    # Before the resend delay existed, a lost message waited 3 x this timeout (3 min).
    monkeypatch.setitem(worker_env, "TASADOR_JOB_HEARTBEAT_TIMEOUT_SECONDS", "60")
    uri = upload(live_client, headers, generate(1_000, seed=8))
    job_id = train(live_client, headers, uri)["id"]
    redis.Redis.from_url(get_settings().broker_url).flushdb()  # the message is lost
    start_worker(queues="training", concurrency=1)
    job = wait_for_job(live_client, headers, job_id, timeout=45)
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1


def test_failures_end_the_job_with_a_specific_code_and_the_worker_keeps_going(
    live_client: TestClient, headers: dict[str, str], start_worker: Callable[..., Worker]
) -> None:
    start_worker()
    good = generate(300, seed=5)
    missing_column = own_data_uri(live_client, headers)
    get_store().put_bytes(missing_column, csv_bytes(good.drop(columns=["sector"])))
    unreadable = own_data_uri(live_client, headers)
    get_store().put_bytes(unreadable, b"\x00\xff\xfe binary \x00 garbage\n\x81\x82")
    vanished = own_data_uri(live_client, headers)
    get_store().put_bytes(vanished, csv_bytes(good))

    ids = {
        "missing column": train(live_client, headers, missing_column)["id"],
        "unreadable": train(live_client, headers, unreadable)["id"],
        "vanished": train(live_client, headers, vanished)["id"],
    }
    get_store().delete(vanished)  # gone between submit and run
    codes = {
        name: wait_for_job(live_client, headers, job_id)["error"]["code"]
        for name, job_id in ids.items()
    }
    assert codes == {
        "missing column": "invalid_input",
        "unreadable": "invalid_input",
        "vanished": "object_not_found",
    }
    # The worker survived all of that and still runs jobs.
    ok = train(live_client, headers, upload(live_client, headers, good))
    assert wait_for_job(live_client, headers, ok["id"])["status"] == "succeeded"


def test_a_job_past_its_soft_time_limit_fails_with_time_limit(
    live_client: TestClient,
    headers: dict[str, str],
    start_worker: Callable[..., Worker],
    worker_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(worker_env, "TASADOR_TRAINING_SOFT_TIME_LIMIT", "2")
    monkeypatch.setitem(worker_env, "TASADOR_TRAINING_TIME_LIMIT", "30")
    start_worker(queues="training", concurrency=1)
    uri = upload(live_client, headers, generate(3_000, seed=6))
    job_id = train(live_client, headers, uri, params={"n_estimators": 3000, "max_depth": 6})["id"]
    job = wait_for_job(live_client, headers, job_id, timeout=60)
    assert job["status"] == "failed"
    assert job["error"]["code"] == "time_limit"
    assert os.environ.get("TASADOR_TRAINING_SOFT_TIME_LIMIT") is None
