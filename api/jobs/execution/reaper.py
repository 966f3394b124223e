"""The reaper: no job stays ``running`` or ``queued`` forever, and no leftovers stay.

It has three duties, each its own function with its own report, so that one
failing (say the object store is down) does not stop the others:

- job recovery (:func:`recover_jobs`): a worker killed mid-job stops
  heartbeating; its job is sent again (a fresh worker takes it over with the
  next attempt number) until the attempts run out, when it fails as
  ``worker_lost``. A split job's partitions are recovered one by one
  (``partition_recovery``). A queued job whose message was lost (the broker was flushed,
  or the send after commit failed) is sent again from the database;
- webhook retries due now (``api.webhooks.delivery.dispatch_due``);
- sweeping what dead attempts left in the object store (``api.jobs.execution.sweeper``),
  at its own, slower interval.

Sending twice is harmless: the claim in the runner lets only one delivery run a
job. The reaper runs as a thread in every worker and as its own process
(``tasador reaper``), so recovery does not depend on a worker being alive; row
locks with SKIP LOCKED keep two reapers from acting on the same job.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from api import queue
from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import JobKind, JobStatus
from api.jobs import repository, service
from api.jobs.execution import partition_recovery, partitioning
from api.jobs.execution.partition_recovery import recover_partitions
from api.jobs.execution.sweeper import SweepReport, sweep_leftovers
from api.logging import get_logger
from api.webhooks.delivery import dispatch_due

log = get_logger("api.jobs.execution.reaper")
T = TypeVar("T")


@dataclass
class RecoveryReport:
    resent_stale: int = 0  # running jobs whose worker stopped heartbeating, sent again
    resent_lost: int = 0  # queued jobs whose message was lost, sent again
    failed: int = 0  # jobs failed as worker_lost (attempts exhausted)
    resent_partitions: int = 0  # partitions whose worker or message was lost, sent again


def recover_jobs(now: datetime | None = None) -> RecoveryReport:
    """Send again or fail jobs that lost their worker or their message."""
    moment = now or utcnow()
    report = RecoveryReport()
    with session_scope() as session:
        _recover_stale(session, moment, report)
        resent, failed = recover_partitions(session, moment)
        report.resent_partitions += resent
        report.failed += failed
        _resend_lost(session, moment, report)
    if report != RecoveryReport():
        log.info("jobs_recovered", **asdict(report))
    return report


def _recover_stale(session: Session, now: datetime, report: RecoveryReport) -> None:
    settings = get_settings()
    timeout = timedelta(seconds=settings.job_heartbeat_timeout_seconds)
    for job in repository.stale_running(session, now - timeout):
        if job.attempts >= settings.job_max_attempts:
            service.finish(
                session,
                job,
                JobStatus.FAILED,
                error={
                    "code": "worker_lost",
                    "message": f"the worker running this job was lost {job.attempts} times",
                    "details": {"attempts": job.attempts},
                },
            )
            report.failed += 1
        elif job.enqueued_at < now - timeout:  # at most one send per timeout
            service.enqueue(session, job)
            report.resent_stale += 1


def _resend_lost(session: Session, now: datetime, report: RecoveryReport) -> None:
    """Send queued jobs again whose message the broker no longer holds.

    A job waits its turn in a long queue without being sent again: only as many
    jobs as there are queued jobs missing from the broker are sent, the oldest
    first (the queue is first in, first out, so theirs are the messages that
    would have been taken already), and each at most once per
    ``queued_resend_seconds``.
    """
    sent_before = now - timedelta(seconds=get_settings().queued_resend_seconds)
    for kind in JobKind:
        waiting = repository.waiting_since(session, kind, sent_before)
        split = kind == JobKind.BATCH_INFERENCE  # partition tasks share its queue
        partitions = partitioning.count_queued(session) if split else 0
        if not waiting and not partitions:
            continue
        in_broker = queue.depth(service.queue_of(kind))
        if in_broker is None:  # the broker cannot say: fall back to once per delay
            missing = len(waiting) + partitions
        else:
            missing = repository.count_queued(session, kind) + partitions - in_broker
        for job in waiting[: max(missing, 0)]:
            service.enqueue(session, job)
            report.resent_lost += 1
            missing -= 1
        if split and partitions:
            report.resent_partitions += partition_recovery.resend_lost(
                session, sent_before, missing
            )


@dataclass
class ReaperPass:
    jobs: RecoveryReport | None = None
    webhooks_dispatched: int | None = None
    swept: SweepReport | None = None  # None when no sweep was due
    failed_duties: list[str] = field(default_factory=list)


class Reaper:
    """Runs the duties in passes; sweeps at most every ``sweep_interval_seconds``."""

    def __init__(self, *, sweep_now: bool) -> None:
        delay = 0.0 if sweep_now else get_settings().sweep_interval_seconds
        self._next_sweep = time.monotonic() + delay

    def run_pass(self) -> ReaperPass:
        report = ReaperPass()
        report.jobs = self._duty("recover_jobs", recover_jobs, report)
        report.webhooks_dispatched = self._duty("dispatch_webhooks", dispatch_due, report)
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + get_settings().sweep_interval_seconds
            report.swept = self._duty("sweep_leftovers", sweep_leftovers, report)
        return report

    def run_forever(self, stopped: threading.Event, *, wait_first: bool) -> None:
        interval = get_settings().reaper_interval_seconds
        if wait_first and stopped.wait(interval):
            return
        while True:
            self.run_pass()
            if stopped.wait(interval):
                return

    @staticmethod
    def _duty(name: str, duty: Callable[[], T], report: ReaperPass) -> T | None:
        try:
            return duty()
        except Exception:
            log.exception("reaper_duty_failed", duty=name)
            report.failed_duties.append(name)
            return None


class ReaperThread(threading.Thread):
    """The reaper inside a worker process, until the worker shuts down."""

    def __init__(self) -> None:
        super().__init__(name="job-reaper", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        Reaper(sweep_now=False).run_forever(self.stopped, wait_first=True)
