"""Sweeping leftovers of dead attempts: old ones go, fresh ones and live attempts' stay.

Runs on the local backend (where a file's age can be set) and on S3 through
moto (where objects cannot be back-dated, so the sweep is run "later" instead,
and where every pending upload reports 2010 as its start).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.job import JobKind
from api.jobs.execution.outputs import staging_uri
from api.jobs.execution.sweeper import sweep_leftovers
from api.storage import LocalStore, get_store, reset_store
from api.storage.local import TEMP_PREFIX
from tests.fixtures.s3 import configure_s3_settings
from tests.jobs.fencing_helpers import claimed, committed_user, silence, submit

pytestmark = pytest.mark.usefixtures("committed_db", "flushed_broker")

HOUR = 3600.0


@pytest.fixture(params=["local", "s3"])
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    if request.param == "s3":
        configure_s3_settings(monkeypatch, request.getfixturevalue("moto_server"))
    else:
        monkeypatch.setenv("TASADOR_STORAGE_BACKEND", "local")
        monkeypatch.setenv("TASADOR_DATA_DIR", str(tmp_path))
        get_settings.cache_clear()
        reset_store()
    yield request.param
    monkeypatch.undo()
    get_settings.cache_clear()
    reset_store()


def running_job_on_attempt_two() -> uuid.UUID:
    """A job whose attempt 1 died and whose attempt 2 is running now."""
    job_id = submit(committed_user(), JobKind.TRAINING, {"train_data": "s3://tasador/x.csv"})
    claimed(job_id)
    silence(job_id)
    claimed(job_id)
    return job_id


def put(uri: str) -> str:
    get_store().put_bytes(uri, b"x")
    return uri


def age(uri: str, seconds: float) -> None:
    """Back-date a local object's modification time."""
    store = get_store()
    assert isinstance(store, LocalStore)
    then = time.time() - seconds
    os.utime(store.path_for(uri), (then, then))


def test_old_leftovers_of_dead_attempts_are_swept_and_the_live_attempts_kept(
    backend: str,
) -> None:
    live_job = running_job_on_attempt_two()
    dead_attempt = put(staging_uri(live_job, 1, "predictions.csv"))
    live_attempt = put(staging_uri(live_job, 2, "predictions.csv"))
    gone_job = put(staging_uri(uuid.uuid4(), 1, "model.tsm"))
    bucket = get_settings().bucket
    if backend == "local":
        for uri in (dead_attempt, live_attempt, gone_job):
            age(uri, 2 * HOUR)
        report = sweep_leftovers(max_age=HOUR)
    else:
        report = sweep_leftovers(now=utcnow() + timedelta(hours=2), max_age=HOUR)
    assert (report.staging, report.kept_live) == (2, 1)
    store = get_store()
    assert not store.exists(dead_attempt) and not store.exists(gone_job)
    assert store.exists(live_attempt)
    assert [o.uri for o in store.list_objects(bucket, "staging/")] == [live_attempt]


def test_fresh_leftovers_are_not_swept(backend: str) -> None:
    fresh = put(staging_uri(uuid.uuid4(), 1, "model.tsm"))
    report = sweep_leftovers(max_age=HOUR)
    assert report.staging == 0
    assert get_store().exists(fresh)


def test_unfinished_writes_of_dead_attempts_are_dropped_but_a_live_attempts_kept(
    backend: str,
) -> None:
    live_job = running_job_on_attempt_two()
    store = get_store()
    writers = []
    for uri in (staging_uri(live_job, 1, "predictions.csv"), staging_uri(live_job, 2, "p.csv")):
        writing = store.open_write(uri)  # the writer is killed mid-file
        stream = writing.__enter__()
        stream.write(os.urandom(get_settings().storage_chunk_bytes + 1))  # one part sent
        stream.flush()
        writers.append(writing)
    bucket = get_settings().bucket
    if backend == "local":
        for write in store.pending_writes(bucket):
            os.utime(write.token, (time.time() - 2 * HOUR,) * 2)
    report = sweep_leftovers(max_age=HOUR)
    assert (report.pending, report.kept_live) == (1, 1)
    left = [w.uri for w in store.pending_writes(bucket)]
    assert left == [staging_uri(live_job, 2, "p.csv")]
    for writing in writers:
        writing.__exit__(RuntimeError, RuntimeError("gone"), None)


# Local only: moto reports every pending upload as started in 2010.
@pytest.mark.parametrize("backend", ["local"], indirect=True)
def test_a_fresh_temporary_file_is_not_swept(backend: str) -> None:
    store = get_store()
    assert isinstance(store, LocalStore)
    folder = store.path_for(f"s3://{get_settings().bucket}/datasets/a.csv").parent
    folder.mkdir(parents=True, exist_ok=True)
    fresh = folder / f"{TEMP_PREFIX}a.csv.k2j4h5g6"
    old = folder / f"{TEMP_PREFIX}b.csv.q9w8e7r6"
    fresh.write_bytes(b"uploading")
    old.write_bytes(b"cut off")
    os.utime(old, (time.time() - 2 * HOUR,) * 2)
    report = sweep_leftovers(max_age=HOUR)
    assert report.pending == 1
    assert fresh.exists() and not old.exists()
