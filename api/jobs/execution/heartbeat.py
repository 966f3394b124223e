"""The heartbeat of a running attempt: proof of life, progress, and the stop signal.

A thread beside the work writes the attempt's heartbeat and progress to the job
row. The write names the attempt, so once the job was cancelled or another
attempt took it over, the beat changes nothing and tells the work to stop.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

from api.db.base import utcnow
from api.db.session import session_scope
from api.db.tables.job import JobStatus
from api.jobs import repository
from api.logging import get_logger

log = get_logger("api.jobs.execution.heartbeat")


class Heartbeat(threading.Thread):
    """Beats every ``interval`` seconds until stopped; sets ``lost`` once the job is not its own."""

    def __init__(
        self,
        job_id: uuid.UUID,
        attempt: int,
        progress: Callable[[], float],
        lost: threading.Event,
        interval: float,
    ) -> None:
        super().__init__(name=f"heartbeat-{job_id}", daemon=True)
        self.job_id = job_id
        self.attempt = attempt
        self.progress = progress
        self.lost = lost
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.beat()

    def beat(self) -> None:
        try:
            with session_scope() as session:
                status = repository.touch(
                    session,
                    self.job_id,
                    self.attempt,
                    heartbeat_at=utcnow(),
                    progress=round(self.progress(), 4),
                )
        except Exception:
            log.exception("heartbeat_failed", job_id=str(self.job_id))
            return
        if status != JobStatus.RUNNING:  # cancelled, or another attempt took over
            self.lost.set()
