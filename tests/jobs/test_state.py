"""The job lifecycle allows exactly the moves docs/architecture.md draws."""

from __future__ import annotations

import itertools

import pytest

from api.db.tables.job import JobStatus
from api.jobs import state

LEGAL = {
    ("queued", "running"),
    ("queued", "cancelled"),
    ("running", "succeeded"),
    ("running", "failed"),
    ("running", "cancelled"),
}


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_lifecycle_moves_are_allowed(current: str, new: str) -> None:
    state.check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [p for p in itertools.product(JobStatus, repeat=2) if p not in LEGAL],
)
def test_every_other_move_is_refused(current: str, new: str) -> None:
    with pytest.raises(state.IllegalTransition) as err:
        state.check_transition(current, new)
    assert err.value.code == "illegal_transition"
    assert current in err.value.message and new in err.value.message


def test_terminal_states_are_final() -> None:
    for status in ("succeeded", "failed", "cancelled"):
        assert state.is_terminal(status)
        assert not any(state.can_transition(status, other) for other in JobStatus)
