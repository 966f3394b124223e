"""Batch jobs split into partitions: a real worker, Redis, Postgres and an S3 server.

The worker here cuts inputs every 1,000 rows, so a few thousand rows make a
job of several partitions, taken by the two processes of the worker.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.db.session import session_scope
from api.db.tables.job_partition import PartitionStatus
from api.jobs.execution import partitioning
from api.jobs.execution.batch_io import predict_csv
from api.ml.synth import generate
from api.registry import artifacts
from api.registry import service as registry_service
from api.storage import get_store
from tests.fixtures.worker import (
    FAST_JOB_ENV,
    Worker,
    log_in_committed_member,
    own_data_uri,
    staging_left,
    wait_for_job,
)
from tests.jobs.conftest import FAST_PARAMS, csv_bytes

pytestmark = pytest.mark.integration

PARTITION_ROWS = 1_000


@pytest.fixture(scope="module")
def worker_env(moto_server: str) -> dict[str, str]:
    env = {**os.environ, **FAST_JOB_ENV}
    env["TASADOR_STORAGE_BACKEND"] = "s3"
    env["TASADOR_S3_ENDPOINT_URL"] = moto_server
    env["TASADOR_BATCH_PARTITION_ROWS"] = str(PARTITION_ROWS)
    return env


@pytest.fixture
def headers(live_client: TestClient) -> dict[str, str]:
    return log_in_committed_member(live_client)


@pytest.fixture
def version(
    live_client: TestClient, headers: dict[str, str], start_worker: Callable[..., Worker]
) -> Iterator[int]:
    """A trained model, with a worker running."""
    start_worker()
    uri = own_data_uri(live_client, headers)
    get_store().put_bytes(uri, csv_bytes(generate(800, seed=4)))
    body = {"train_data": uri, "params": FAST_PARAMS}
    job_id = live_client.post("/v1/jobs/training", json=body, headers=headers).json()["id"]
    trained = wait_for_job(live_client, headers, job_id)
    assert trained["status"] == "succeeded", trained
    yield int(trained["result"]["model_version"])


def unsplit(data: bytes, version: int, interval: float | None = None) -> tuple[bytes, bytes]:
    """What the unsplit path writes for ``data``: predictions and errors."""
    with session_scope() as session:
        bundle = artifacts.cached_bundle(registry_service.get(session, version).artifact_uri)
    out, err = io.BytesIO(), io.BytesIO()
    ranges = None if interval is None else (interval, bundle.require_intervals())
    predict_csv(io.BytesIO(data), out, err, bundle.predictor, chunk_rows=500, intervals=ranges)
    return out.getvalue(), err.getvalue()


def test_a_split_job_writes_the_bytes_of_an_unsplit_run(
    live_client: TestClient, headers: dict[str, str], version: int
) -> None:
    frame = generate(4_321, seed=5).drop(columns=["price"])
    frame.loc[3, "type"] = "castle"  # invalid rows in the first and in later partitions
    frame.loc[2_500, "net_area"] = -1.0
    frame.loc[4_320, "n_rooms"] = -2.0
    frame.loc[1_200, "sector"] = 'a "quoted", sector\nwith a newline'
    data = csv_bytes(frame)
    uri = own_data_uri(live_client, headers)
    get_store().put_bytes(uri, data)
    body = {"input_data": uri, "model": version}
    job_id = live_client.post("/v1/jobs/batch-inference", json=body, headers=headers).json()["id"]
    job = wait_for_job(live_client, headers, job_id)
    assert job["status"] == "succeeded", job
    assert job["progress"] == 1.0
    with session_scope() as session:
        parts = partitioning.partitions(session, uuid.UUID(job_id))
        assert len(parts) == 5
        assert {p.status for p in parts} == {PartitionStatus.SUCCEEDED}
    result = job["result"]
    assert result["rows"] == 4_318 and result["failed_rows"] == 3
    expected_out, expected_err = unsplit(data, version)
    assert get_store().get_bytes(result["output_data"]) == expected_out
    errors = get_store().get_bytes(result["errors_data"])
    assert errors == expected_err
    assert sorted(pd.read_csv(io.BytesIO(errors))["row"].unique()) == [4, 2_501, 4_321]
    assert result["input_sha256"] == hashlib.sha256(data).hexdigest()
    assert staging_left(job_id) == []


def test_a_split_job_with_an_interval_writes_the_ranges_of_an_unsplit_run(
    live_client: TestClient, headers: dict[str, str], version: int
) -> None:
    data = csv_bytes(generate(2_500, seed=6).drop(columns=["price"]))
    uri = own_data_uri(live_client, headers)
    get_store().put_bytes(uri, data)
    body = {"input_data": uri, "model": version, "interval": 0.8}
    job_id = live_client.post("/v1/jobs/batch-inference", json=body, headers=headers).json()["id"]
    job = wait_for_job(live_client, headers, job_id)
    assert job["status"] == "succeeded", job
    output = get_store().get_bytes(job["result"]["output_data"])
    assert output == unsplit(data, version, interval=0.8)[0]
    assert output.split(b"\n", 1)[0].endswith(b",price_pred,price_lower,price_upper")


def test_of_two_split_jobs_naming_one_output_the_second_fails_at_once_leaving_nothing(
    live_client: TestClient, headers: dict[str, str], version: int
) -> None:
    uri = own_data_uri(live_client, headers)
    get_store().put_bytes(uri, csv_bytes(generate(2_500, seed=8).drop(columns=["price"])))
    output = own_data_uri(live_client, headers, "outputs")
    body = {"input_data": uri, "output_data": output, "model": version}
    ids = [  # both pass the submit check: neither output exists yet
        live_client.post("/v1/jobs/batch-inference", json=body, headers=headers).json()["id"]
        for _ in range(2)
    ]
    jobs = [wait_for_job(live_client, headers, job_id, timeout=60) for job_id in ids]
    assert sorted(job["status"] for job in jobs) == ["failed", "succeeded"], jobs
    [lost] = [job for job in jobs if job["status"] == "failed"]
    assert lost["error"]["code"] == "output_exists"
    [won] = [job for job in jobs if job["status"] == "succeeded"]
    assert get_store().get_bytes(output).count(b"\n") == won["result"]["rows"] + 1
    for job_id in ids:
        assert staging_left(job_id) == []


def test_cancel_stops_every_partition_and_leaves_no_output(
    live_client: TestClient, headers: dict[str, str], version: int
) -> None:
    big = pd.concat([generate(20_000, seed=s).drop(columns=["price"]) for s in range(3)])
    uri = own_data_uri(live_client, headers)
    get_store().put_bytes(uri, csv_bytes(big))
    output = own_data_uri(live_client, headers, "outputs")
    body = {"input_data": uri, "output_data": output, "model": version}
    job_id = live_client.post("/v1/jobs/batch-inference", json=body, headers=headers).json()["id"]

    def some_done(_: object) -> bool:
        with session_scope() as session:
            return partitioning.finished_count(session, uuid.UUID(job_id))[0] >= 2

    wait_for_job(live_client, headers, job_id, until=some_done)
    cancel = live_client.post(f"/v1/jobs/{job_id}/cancel", headers=headers)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    with session_scope() as session:
        statuses = {p.status for p in partitioning.partitions(session, uuid.UUID(job_id))}
    assert statuses <= {PartitionStatus.SUCCEEDED, PartitionStatus.CANCELLED}
    assert PartitionStatus.CANCELLED in statuses
    # Running partitions stop at their next chunk and drop their parts.
    assert staging_left(job_id, timeout=30) == [], "a cancelled partition left its parts"
    assert not get_store().exists(output)
