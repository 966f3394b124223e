"""Ending a partition, and the job once its last partition succeeded.

Each partition records its counts with a conditional UPDATE that names its
attempt, under the job row lock: partitions finishing together are serialised,
so exactly one of them sees every partition done. That one assembles the
outputs inside the same transaction: the part objects, in input order, are
published as one object and recorded as a job's output always is
(``AttemptOutputs``); S3 joins them server-side straight at the output key
(``ObjectStore.publish_parts``), so the whole output is never copied twice.
Should it fail, the transaction rolls back, the partition stays ``running``
without a heartbeat, and the reaper sends it again.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import MISSING
from sqlalchemy import update
from sqlalchemy.orm import Session

from api import ownership
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import Job, JobStatus
from api.db.tables.job_partition import JobPartition, PartitionStatus
from api.errors import TasadorError
from api.jobs import repository, service
from api.jobs.execution import partitioning
from api.jobs.execution.batch_io import BatchCounts
from api.jobs.execution.context import Error, Outcome, error_of
from api.jobs.execution.outputs import AttemptOutputs, staging_uri
from api.jobs.schemas import BatchResult
from api.logging import get_logger
from api.storage import get_store

log = get_logger("api.jobs.execution.partition_finish")


@dataclass(frozen=True)
class PartitionRun:
    """One attempt of one partition, as its worker sees it."""

    job_id: uuid.UUID
    number: int
    attempt: int
    job_attempt: int
    owner_id: int
    request: dict[str, Any]
    model_version: int | None
    header_end: int
    start: int
    end: int
    first_row: int

    def part(self, name: str) -> str:
        return part_uri(self.job_id, self.job_attempt, self.number, self.attempt, name)


def part_uri(job_id: uuid.UUID, job_attempt: int, number: int, attempt: int, name: str) -> str:
    """Where one attempt of a partition writes its part of an output."""
    return staging_uri(job_id, job_attempt, f"parts/{number}-{attempt}/{name}")


def _parts(partition: JobPartition, name: str) -> str:
    return part_uri(
        partition.job_id, partition.job_attempt, partition.number, partition.attempt, name
    )


def conclude(run: PartitionRun, counts: BatchCounts | None, error: Error | None) -> Outcome:
    """Record how the partition ended; fail the job on an error; assemble after the last."""
    assembled: AttemptOutputs | None = None
    outcome = Outcome.SUPERSEDED
    try:
        with session_scope() as session:
            job = repository.get(session, run.job_id, for_update=True)
            if job is None or job.status != JobStatus.RUNNING:
                outcome = Outcome.CANCELLED
                return outcome
            if not _own(session, run):
                return Outcome.SUPERSEDED
            if error is not None:
                service.finish(session, job, JobStatus.FAILED, error=error)
                outcome = Outcome.FAILED
                return outcome
            if counts is None:  # stopped by its heartbeat, yet still its own: lost meanwhile
                return Outcome.SUPERSEDED
            _succeeded(session, run, counts)
            done, total = partitioning.finished_count(session, run.job_id)
            outcome = Outcome.SUCCEEDED
            if done < total:
                job.progress = done / total
                return outcome
            assembled = AttemptOutputs(job.id, job.attempts)
            started = time.monotonic()
            try:
                result = _assemble(session, job, assembled)
            except TasadorError as exc:  # another job published at the output meanwhile
                assembled.unpublish()
                assembled.discard()
                assembled = None
                service.finish(session, job, JobStatus.FAILED, error=error_of(exc))
                outcome = Outcome.FAILED
                return outcome
            service.finish(session, job, JobStatus.SUCCEEDED, result=result)
            log.info(
                "job_assembled", partitions=total, seconds=round(time.monotonic() - started, 3)
            )
    except BaseException:
        if assembled is not None and assembled.published and not _recorded(run.job_id):
            assembled.unpublish()
        raise
    finally:
        if outcome is not Outcome.SUCCEEDED:
            _drop(run.part("predictions.csv"), run.part("errors.csv"))
        if outcome in (Outcome.CANCELLED, Outcome.FAILED):
            _drop_parts(run.job_id)  # the job ended: the parts of finished partitions too
    if assembled is not None:
        assembled.discard()
        _drop_parts(run.job_id)
    return outcome


def _own(session: Session, run: PartitionRun) -> bool:
    part = partitioning.get(session, run.job_id, run.number)
    if part is None:
        return False
    session.refresh(part)
    return part.attempt == run.attempt and part.status == PartitionStatus.RUNNING


def _succeeded(session: Session, run: PartitionRun, counts: BatchCounts) -> None:
    session.execute(
        update(JobPartition)
        .where(JobPartition.job_id == run.job_id, JobPartition.number == run.number)
        .values(
            status=PartitionStatus.SUCCEEDED,
            rows=counts.predicted,
            invalid_rows=counts.failed,
            finished_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def _assemble(session: Session, job: Job, outputs: AttemptOutputs) -> BatchResult:
    """Publish every partition's parts, joined, as the job's outputs."""
    parts = partitioning.partitions(session, job.id)
    allowed = ownership.authorize_batch(job.owner_id, job.id, job.request)
    # Only jobs with a CSV input and output are split (a data source's run whole).
    assert isinstance(allowed.output_data, str) and allowed.errors_data is not None
    outputs.stage(
        allowed.output_data, "predictions.csv", tuple(_parts(p, "predictions.csv") for p in parts)
    )
    failed = sum(p.invalid_rows for p in parts)
    if failed:
        outputs.stage(
            allowed.errors_data, "errors.csv", tuple(_parts(p, "errors.csv") for p in parts)
        )
    outputs.publish()
    split = job.inputs.get("split", {})
    return BatchResult(
        output_data=allowed.output_data,
        rows=sum(p.rows for p in parts),
        failed_rows=failed,
        errors_data=allowed.errors_data if failed else MISSING,
        model_version=job.model_version,
        input_sha256=split.get("sha256", MISSING),
    )


def _recorded(job_id: uuid.UUID) -> bool:
    try:
        with session_scope() as session:
            job = repository.get(session, job_id)
            return job is not None and job.status == JobStatus.SUCCEEDED
    except Exception:
        log.exception("job_result_unknown")
        return True  # cannot tell: keep the copies


def _drop(*uris: str) -> None:
    store = get_store()
    for uri in uris:
        try:
            store.delete(uri)
        except Exception:  # the sweeper removes it later
            log.exception("staging_cleanup_failed", uri=uri)


def _drop_parts(job_id: uuid.UUID) -> None:
    with session_scope() as session:
        parts = list(partitioning.partitions(session, job_id))
        uris = [_parts(p, name) for p in parts for name in ("predictions.csv", "errors.csv")]
    _drop(*uris)
