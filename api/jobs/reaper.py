"""The reaper: no job stays ``running`` or ``queued`` forever.

A worker killed mid-job stops heartbeating; its job is sent again (a fresh
worker takes it over with the next attempt number) until the attempts run out,
when it fails as ``worker_lost``. A queued job whose message was lost (say the
broker was flushed) is sent again from the database. Sending twice is harmless:
the claim in the runner lets only one delivery run a job.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

from api.config import get_settings
from api.db.base import utcnow
from api.db.session import session_scope
from api.jobs import repository, service, state
from api.logging import get_logger
from api.webhooks.delivery import dispatch_due

log = get_logger("api.jobs.reaper")


@dataclass
class ReapReport:
    resent: int = 0
    failed: int = 0


def reap_once() -> ReapReport:
    settings = get_settings()
    now = utcnow()
    timeout = timedelta(seconds=settings.job_heartbeat_timeout_seconds)
    report = ReapReport()
    with session_scope() as session:
        for job in repository.stale_running(session, now - timeout):
            if job.attempts >= settings.job_max_attempts:
                service.finish(
                    session,
                    job,
                    state.FAILED,
                    error={
                        "code": "worker_lost",
                        "message": f"the worker running this job was lost {job.attempts} times",
                        "details": {"attempts": job.attempts},
                    },
                )
                report.failed += 1
            elif job.enqueued_at < now - timeout:
                service.enqueue(session, job)
                report.resent += 1
        # A queued job waits at most this long for its message before it is sent again.
        for job in repository.waiting_since(session, now - 3 * timeout):
            service.enqueue(session, job)
            report.resent += 1
    # Webhook retries are scheduled in the database; send those now due.
    report.resent += dispatch_due()
    if report.resent or report.failed:
        log.info("reaper_acted", resent=report.resent, failed=report.failed)
    return report


class ReaperThread(threading.Thread):
    """Runs ``reap_once`` every ``reaper_interval_seconds`` until stopped."""

    def __init__(self) -> None:
        super().__init__(name="job-reaper", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = get_settings().reaper_interval_seconds
        while not self.stopped.wait(interval):
            try:
                reap_once()
            except Exception:
                log.exception("reaper_failed")
