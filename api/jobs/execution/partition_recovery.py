"""Recovering partitions whose worker or message was lost (a duty of the reaper).

A partition whose heartbeat stopped is queued again and its task re-sent: the
next worker claims it with the next attempt number and redoes that partition
only. After ``job_max_attempts`` lost attempts of one partition the job fails
as ``worker_lost``, which ends every other partition too.

Partition tasks share the ``inference`` queue with batch jobs, so the count of
messages the broker lost there is taken over both; queued partitions are sent
again only for what batch jobs leave of it, oldest first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.base import utcnow
from api.db.tables.job import JobStatus
from api.db.tables.job_partition import PartitionStatus
from api.jobs import repository, service
from api.jobs.execution import partitioning


def recover_partitions(session: Session, now: datetime) -> tuple[int, int]:
    """(partitions re-sent, jobs failed) among partitions whose heartbeat stopped."""
    settings = get_settings()
    stale = now - timedelta(seconds=settings.job_heartbeat_timeout_seconds)
    resent = failed = 0
    for part in partitioning.stale_running(session, stale):
        job = repository.get(session, part.job_id)
        if job is None or job.status != JobStatus.RUNNING:
            part.status = PartitionStatus.CANCELLED
        elif part.attempt >= settings.job_max_attempts:
            error = {
                "code": "worker_lost",
                "message": (
                    f"the worker running partition {part.number} of this job was lost "
                    f"{part.attempt} times"
                ),
                "details": {"partition": part.number, "attempts": part.attempt},
            }
            service.finish(session, job, JobStatus.FAILED, error=error)
            failed += 1
        else:
            part.status = PartitionStatus.QUEUED
            part.enqueued_at = now
            partitioning.send_partition(session, part.job_id, part.number)
            resent += 1
    session.flush()
    return resent, failed


def resend_lost(session: Session, sent_before: datetime, missing: int) -> int:
    """Send again up to ``missing`` queued partitions last sent before ``sent_before``."""
    sent = 0
    for part in partitioning.waiting_since(session, sent_before)[: max(missing, 0)]:
        part.enqueued_at = utcnow()
        partitioning.send_partition(session, part.job_id, part.number)
        sent += 1
    session.flush()
    return sent
