"""The job state machine, and nothing else.

    queued -> running -> succeeded | failed
    queued | running -> cancelled

Every status change goes through ``transition`` so an illegal move is an error
at the point it is attempted, not a corrupt row found later.
"""

from __future__ import annotations

from typing import Final

from api.errors import Conflict

QUEUED: Final = "queued"
RUNNING: Final = "running"
SUCCEEDED: Final = "succeeded"
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"

STATUSES: Final = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
TERMINAL: Final = frozenset({SUCCEEDED, FAILED, CANCELLED})

KIND_TRAINING: Final = "training"
KIND_BATCH: Final = "batch_inference"
KINDS: Final = (KIND_TRAINING, KIND_BATCH)

_ALLOWED: Final[dict[str, frozenset[str]]] = {
    QUEUED: frozenset({RUNNING, CANCELLED}),
    RUNNING: frozenset({SUCCEEDED, FAILED, CANCELLED}),
    SUCCEEDED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


def can_transition(current: str, new: str) -> bool:
    return new in _ALLOWED.get(current, frozenset())


def check_transition(current: str, new: str) -> None:
    """Raise ``IllegalTransition`` unless ``current -> new`` is in the lifecycle."""
    if not can_transition(current, new):
        raise IllegalTransition(
            f"a job cannot go from {current!r} to {new!r}",
            details={"from": current, "to": new},
        )


def is_terminal(status: str) -> bool:
    return status in TERMINAL
