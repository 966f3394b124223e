"""Fencing by attempt: a superseded attempt never harms the attempt that won.

Two attempts of one job are played by hand (see ``fencing_helpers``) against
the real Postgres and S3: attempt 1 claims and works, its heartbeat goes
stale, attempt 2 takes the job over through the stale path, and then each
concludes in the order the test chooses.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from api.config import get_settings
from api.db.session import session_scope
from api.db.tables.job import JobKind, JobStatus
from api.jobs import repository
from api.jobs.execution.batch_job import _predict, run_batch_inference
from api.jobs.execution.context import Outcome
from api.jobs.execution.outputs import staging_uri
from api.jobs.execution.runner import conclude
from api.jobs.execution.training_job import _train, run_training
from api.ml.synth import generate
from api.ownership import errors_uri
from api.registry import artifacts
from api.storage import get_store
from tests.jobs.conftest import FAST_PARAMS
from tests.jobs.fencing_helpers import (
    claimed,
    committed_user,
    job_row,
    model_versions,
    silence,
    submit,
)

pytestmark = pytest.mark.usefixtures("committed_db", "s3_settings", "flushed_broker")


def staging_left(job_id: uuid.UUID) -> list[str]:
    return [o.uri for o in get_store().list_objects(get_settings().bucket, f"staging/{job_id}/")]


def train_request(uri: str) -> dict[str, Any]:
    return {"train_data": uri, "params": FAST_PARAMS, "preset": "default", "promote": "if_better"}


@pytest.fixture
def owner() -> int:
    return committed_user()


@pytest.fixture
def model_version(owner: int, training_csv: str) -> int:
    """A trained, registered production model (a whole job run in this process)."""
    job_id = submit(owner, JobKind.TRAINING, train_request(training_csv))
    assert run_training(str(job_id)) is Outcome.SUCCEEDED
    return int(job_row(job_id).result["model_version"])  # type: ignore[index]


@pytest.mark.parametrize("loser_ends", ["after the winner", "before the winner"])
def test_a_superseded_training_attempt_leaves_the_winners_model_and_registers_nothing(
    owner: int, training_csv: str, loser_ends: str
) -> None:
    job_id = submit(owner, JobKind.TRAINING, train_request(training_csv))
    first = claimed(job_id)
    first_done = _train(first)  # its artifact is staged, then the worker "pauses"
    assert get_store().exists(staging_uri(job_id, 1, "model.tsm"))
    silence(job_id)
    second = claimed(job_id)
    assert second.attempt == 2
    second_done = _train(second)

    if loser_ends == "before the winner":
        assert conclude(first, first_done, None) is Outcome.SUPERSEDED
        assert job_row(job_id).status == JobStatus.RUNNING  # untouched
        assert conclude(second, second_done, None) is Outcome.SUCCEEDED
    else:
        assert conclude(second, second_done, None) is Outcome.SUCCEEDED
        recorded = job_row(job_id)
        assert conclude(first, first_done, None) is Outcome.SUPERSEDED
        after = job_row(job_id)
        assert (after.status, after.attempts, after.result, after.finished_at) == (
            recorded.status,
            recorded.attempts,
            recorded.result,
            recorded.finished_at,
        )

    job = job_row(job_id)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.result is not None
    final = artifacts.artifact_uri(str(job_id))
    assert job.result["artifact_uri"] == final
    assert model_versions() == 1
    artifacts.load(final)  # production's artifact is there, signed and whole
    assert get_store().is_copy_of(final, staging_uri(job_id, 2, "model.tsm"))
    assert staging_left(job_id) == []


@pytest.mark.parametrize("loser_ends", ["after the winner", "before the winner"])
def test_a_superseded_batch_attempt_leaves_the_winners_output_intact(
    owner: int, model_version: int, put_csv: Callable[..., str], loser_ends: str
) -> None:
    rows = generate(700, seed=11).drop(columns=["price"])
    rows.loc[3, "type"] = "castle"  # one invalid row, so an errors file is published too
    source = put_csv(rows)
    output = f"s3://{get_settings().bucket}/outputs/{uuid.uuid4().hex}.csv"
    request = {"input_data": source, "output_data": output, "model": model_version}
    job_id = submit(owner, JobKind.BATCH_INFERENCE, request, model_version=model_version)
    first = claimed(job_id)
    first_done = _predict(first)
    silence(job_id)
    second = claimed(job_id)
    second_done = _predict(second)

    if loser_ends == "before the winner":
        assert conclude(first, first_done, None) is Outcome.SUPERSEDED
        assert not get_store().exists(output)
        assert conclude(second, second_done, None) is Outcome.SUCCEEDED
    else:
        assert conclude(second, second_done, None) is Outcome.SUCCEEDED
        assert conclude(first, first_done, None) is Outcome.SUPERSEDED

    job = job_row(job_id)
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert job.result is not None and job.result["output_data"] == output
    predicted = pd.read_csv(io.BytesIO(get_store().get_bytes(output)))
    assert len(predicted) == 699 and predicted["price_pred"].notna().all()
    errors = pd.read_csv(io.BytesIO(get_store().get_bytes(errors_uri(output))))
    assert list(errors["row"].unique()) == [4]
    assert staging_left(job_id) == []


def test_an_output_created_before_publishing_is_never_overwritten(
    owner: int, model_version: int, put_csv: Callable[..., str]
) -> None:
    source = put_csv(generate(200, seed=12).drop(columns=["price"]))
    output = f"s3://{get_settings().bucket}/outputs/{uuid.uuid4().hex}.csv"
    request = {"input_data": source, "output_data": output, "model": model_version}
    job_id = submit(owner, JobKind.BATCH_INFERENCE, request, model_version=model_version)
    attempt = claimed(job_id)
    done = _predict(attempt)
    get_store().put_bytes(output, b"someone else's file\n")  # appears while the job runs

    assert conclude(attempt, done, None) is Outcome.FAILED
    job = job_row(job_id)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert job.error["code"] == "output_exists"
    assert get_store().get_bytes(output) == b"someone else's file\n"
    assert staging_left(job_id) == []


def test_a_taken_output_location_fails_the_job_before_any_work(
    owner: int, model_version: int, put_csv: Callable[..., str]
) -> None:
    source = put_csv(generate(200, seed=13).drop(columns=["price"]))
    output = f"s3://{get_settings().bucket}/outputs/{uuid.uuid4().hex}.csv"
    request = {"input_data": source, "output_data": output, "model": model_version}
    job_id = submit(owner, JobKind.BATCH_INFERENCE, request, model_version=model_version)
    get_store().put_bytes(output, b"keep me\n")

    assert run_batch_inference(str(job_id)) is Outcome.FAILED
    job = job_row(job_id)
    assert job.error is not None and job.error["code"] == "output_exists"
    assert get_store().get_bytes(output) == b"keep me\n"
    assert staging_left(job_id) == []


def test_the_next_attempt_replaces_a_copy_its_crashed_predecessor_never_recorded(
    owner: int, training_csv: str
) -> None:
    job_id = submit(owner, JobKind.TRAINING, train_request(training_csv))
    first = claimed(job_id)
    _train(first)
    final = artifacts.artifact_uri(str(job_id))
    # Attempt 1 published, then died before its commit: nothing records the copy.
    get_store().publish(staging_uri(job_id, 1, "model.tsm"), final)
    silence(job_id)
    second = claimed(job_id)
    second_done = _train(second)

    assert conclude(second, second_done, None) is Outcome.SUCCEEDED
    assert get_store().is_copy_of(final, staging_uri(job_id, 2, "model.tsm"))
    assert model_versions() == 1
    artifacts.load(final)


def test_a_new_attempt_starts_from_zero_progress(owner: int, training_csv: str) -> None:
    job_id = submit(owner, JobKind.TRAINING, train_request(training_csv))
    first = claimed(job_id)
    with session_scope() as session:
        assert repository.touch(session, job_id, first.attempt, progress=0.7) == JobStatus.RUNNING
    assert job_row(job_id).progress == 0.7
    silence(job_id)
    second = claimed(job_id)
    assert second.attempt == 2 and second.fraction == 0.0
    assert job_row(job_id).progress == 0.0
