"""Running one partition of a split batch job.

The partition claims its own attempt (a conditional UPDATE, as a job does),
reads its byte range of the input with the header in front, predicts it with
the code path of an unsplit run, and writes its part of the predictions and
of the errors to objects named by its attempt. A heartbeat thread keeps the
partition and its job alive and stops the work at the next chunk once the job
was cancelled or the partition taken over. The last partition to finish
assembles the job's outputs (``partition_finish``).
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import structlog
from celery.exceptions import SoftTimeLimitExceeded

from api import ownership
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import JobStatus
from api.db.tables.job_partition import PartitionStatus
from api.errors import TasadorError
from api.jobs import repository
from api.jobs.execution import partition_finish, partitioning
from api.jobs.execution.batch_io import BatchCounts, predict_csv, requested_intervals
from api.jobs.execution.context import Error, JobCancelled, Outcome
from api.jobs.execution.partition_finish import PartitionRun
from api.jobs.execution.runner import internal_error
from api.logging import get_logger
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.storage import get_store

log = get_logger("api.jobs.execution.partition_job")


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.left:
            self.left = next(self.chunks, b"")
            if not self.left:
                return 0
        n = min(len(buffer), len(self.left))
        buffer[:n] = self.left[:n]
        self.left = self.left[n:]
        return n


class _Beat(threading.Thread):
    """The partition's heartbeat; sets ``lost`` once the partition or its job is not its own."""

    def __init__(self, run: PartitionRun, lost: threading.Event, interval: float) -> None:
        super().__init__(name=f"heartbeat-{run.job_id}-{run.number}", daemon=True)
        self.run_ = run
        self.lost = lost
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                with session_scope() as session:
                    own = partitioning.touch(
                        session, self.run_.job_id, self.run_.number, self.run_.attempt
                    )
            except Exception:
                log.exception("heartbeat_failed")
                continue
            if not own:
                self.lost.set()


def claim(job_id: uuid.UUID, number: int) -> PartitionRun | None:
    """Start the partition's next attempt, or None if it ended or another attempt owns it."""
    settings = get_settings()
    now = utcnow()
    stale = now - timedelta(seconds=settings.job_heartbeat_timeout_seconds)
    with session_scope() as session:
        job = repository.get(session, job_id)
        part = partitioning.get(session, job_id, number)
        if job is None or part is None or job.status != JobStatus.RUNNING:
            return None
        if part.status in (PartitionStatus.SUCCEEDED, PartitionStatus.CANCELLED):
            return None
        if not partitioning.claim(session, job_id, number, now=now, stale_before=stale):
            return None
        session.refresh(part)
        return PartitionRun(
            job_id=job_id,
            number=number,
            attempt=part.attempt,
            job_attempt=part.job_attempt,
            owner_id=job.owner_id,
            request=dict(job.request),
            model_version=job.model_version,
            header_end=part.header_end,
            start=part.start_byte,
            end=part.end_byte,
            first_row=part.first_row,
        )


def run_partition(job_id: str, number: int) -> Outcome | None:
    run = claim(uuid.UUID(job_id), number)
    if run is None:
        return None
    structlog.contextvars.bind_contextvars(job_id=job_id, partition=number, attempt=run.attempt)
    lost = threading.Event()
    beat = _Beat(run, lost, min(get_settings().job_heartbeat_seconds, 1.0))
    beat.start()
    error: Error | None = None
    counts: BatchCounts | None = None
    try:
        log.info("partition_started")
        counts = _predict(run, lost)
    except JobCancelled:
        pass
    except SoftTimeLimitExceeded:
        error = {"code": "time_limit", "message": "the job ran past its time limit"}
    except TasadorError as exc:
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
    except Exception as exc:
        log.exception("partition_crashed", error=repr(exc))
        error = internal_error(run.job_id)
    finally:
        beat.stopped.set()
        beat.join()
    try:
        outcome = partition_finish.conclude(run, counts, error)
        log.info("partition_ended", outcome=str(outcome))
        return outcome
    finally:
        structlog.contextvars.unbind_contextvars("job_id", "partition", "attempt")


def _predict(run: PartitionRun, lost: threading.Event) -> BatchCounts:
    allowed = ownership.authorize_batch(run.owner_id, run.job_id, run.request)
    store = get_store()
    source = allowed.input_data
    with session_scope() as session:
        assert run.model_version is not None, "batch jobs resolve their model at submit time"
        artifact_uri = registry_service.get(session, run.model_version).artifact_uri
    bundle = registry_artifacts.cached_bundle(artifact_uri)
    intervals = requested_intervals(bundle, run.request.get("interval"))

    def chunks() -> Iterator[bytes]:
        if run.number > 0:
            yield b"".join(store.read_range(source, 0, run.header_end))
        yield from store.read_range(source, run.start, run.end)

    def after_chunk(_: BatchCounts) -> None:
        if lost.is_set():
            raise JobCancelled(str(run.job_id))

    with (
        store.open_write(run.part("predictions.csv")) as out,
        store.open_write(run.part("errors.csv")) as err,
    ):
        counts = predict_csv(
            io.BufferedReader(_Chunks(chunks()), 1 << 20),
            out,
            err,
            bundle.predictor,
            chunk_rows=get_settings().batch_chunk_rows,
            after_chunk=after_chunk,
            first_row=run.first_row,
            headers=run.number == 0,
            intervals=intervals,
        )
        after_chunk(counts)
    return counts
