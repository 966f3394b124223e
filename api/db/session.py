"""Unit of work: commit on success, roll back on error, then send deferred tasks.

Services never commit. They *defer* tasks on the session; the scope sends them
only after a successful commit, so a task can never run before its job row
exists, and a rolled-back request sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from api.db.engine import session_factory

_DEFERRED = "tasador.deferred"


def defer(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` after ``session`` commits; drop it if it rolls back."""
    session.info.setdefault(_DEFERRED, []).append(action)


def run_deferred(session: Session) -> None:
    actions: list[Callable[[], None]] = session.info.pop(_DEFERRED, [])
    for action in actions:
        action()


def discard_deferred(session: Session) -> None:
    session.info.pop(_DEFERRED, None)


@contextmanager
def session_scope(session: Session | None = None) -> Iterator[Session]:
    """A transaction that commits on success and rolls back on any error."""
    owned = session is None
    current = session if session is not None else session_factory()()
    try:
        yield current
        current.commit()
    except BaseException:
        current.rollback()
        discard_deferred(current)
        raise
    finally:
        if owned:
            current.close()
    run_deferred(current)
