"""What a job's work function sees of its attempt, and how it reports back.

The work (``training_job``, ``batch_job``) gets a :class:`JobContext`: the
job's request and inputs, ``progress`` for the heartbeat to write, the
cancellation flag the heartbeat raises, and ``stage`` for the attempt's own
output locations (``api.jobs.execution.outputs``). It returns a
:data:`Finalizer`, which the runner calls inside the transaction that records
the result.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from api.db.tables.job import JobKind
from api.errors import TasadorError
from api.jobs.execution.outputs import AttemptOutputs
from api.jobs.schemas import JobResult

Finalizer = Callable[[Session], JobResult]
Error = dict[str, Any]


def error_of(exc: TasadorError) -> Error:
    """The ``error`` a job records for a failure that names its own problem."""
    return {"code": exc.code, "message": exc.message, "details": exc.details}


class Outcome(StrEnum):
    """How one attempt ended, from its own point of view."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"  # the job went on without this attempt
    HANDED_OFF = "handed_off"  # the job runs on as partitions (``partitioning``)


class JobCancelled(Exception):
    """Raised inside the work when the job was cancelled or taken over while it ran."""


class JobHandedOff(Exception):
    """Raised by the work once the job's partitions carry it on."""


@dataclass
class JobContext:
    """What the work function sees of its job, and how it reports back."""

    job_id: uuid.UUID
    attempt: int
    kind: JobKind
    owner_id: int
    request: dict[str, Any]
    inputs: dict[str, Any]
    model_version: int | None
    fraction: float = 0.0
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Steps that need the result recorded first and must not delay it (drawing a
    # model's charts); run by the attempt that recorded it, once it is committed.
    after_success: list[Callable[[], None]] = field(default_factory=list)
    outputs: AttemptOutputs = field(init=False)

    def __post_init__(self) -> None:
        self.outputs = AttemptOutputs(self.job_id, self.attempt)

    def progress(self, fraction: float) -> None:
        """Record progress; the heartbeat thread writes it out."""
        self.fraction = min(max(fraction, self.fraction), 1.0)

    def should_stop(self) -> bool:
        return self.cancelled.is_set()

    def check_cancelled(self) -> None:
        if self.cancelled.is_set():
            raise JobCancelled(str(self.job_id))

    def stage(self, final: str, name: str) -> str:
        """The attempt's own location for an output to be published at ``final``."""
        return self.outputs.stage(final, name)
