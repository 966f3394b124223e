"""The job state machine, and nothing else.

    queued -> running -> succeeded | failed
    queued | running -> cancelled

The statuses themselves are ``JobStatus`` (beside the table that stores them).
Every move to an end state goes through ``check_transition`` (called by
``api.jobs.service.finish``), so an illegal move is an error at the point it is
attempted, not a corrupt row found later.
"""

from __future__ import annotations

from typing import Final

from api.db.tables.job import JobStatus
from api.errors import Conflict

TERMINAL: Final = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})

_ALLOWED: Final[dict[JobStatus, frozenset[JobStatus]]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}),
    JobStatus.SUCCEEDED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def can_transition(current: str, new: str) -> bool:
    return new in _ALLOWED.get(current, frozenset())  # type: ignore[call-overload]


def check_transition(current: str, new: str) -> None:
    """Raise ``IllegalTransition`` unless ``current -> new`` is in the lifecycle."""
    if not can_transition(current, new):
        current, new = str(current), str(new)  # the values, not the enum members' reprs
        raise IllegalTransition(
            f"a job cannot go from {current!r} to {new!r}",
            details={"from": current, "to": new},
        )


def is_terminal(status: str) -> bool:
    return status in TERMINAL
