"""Unit of work: commit on success, roll back on error, then send deferred tasks.

Services never commit. They *defer* tasks on the session; the scope sends them
only after a successful commit, so a task can never run before its job row
exists, and a rolled-back request sends nothing.

A send that fails after the commit cannot undo it. By default the error is
raised (the worker's scopes); a caller that passes ``on_send_error`` (the HTTP
request) decides what to tell its client, and every other action still runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy.orm import Session

from api.db.engine import session_factory

_DEFERRED = "tasador.deferred"

# Opens a unit of work: ``session_scope`` itself, or a test's stand-in.
SessionOpener = Callable[[], AbstractContextManager[Session]]


def defer(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` after ``session`` commits; drop it if it rolls back."""
    session.info.setdefault(_DEFERRED, []).append(action)


SendErrorHandler = Callable[[Exception], None]


def run_deferred(session: Session, on_error: SendErrorHandler | None = None) -> None:
    actions: list[Callable[[], None]] = session.info.pop(_DEFERRED, [])
    for action in actions:
        if on_error is None:
            action()
            continue
        try:
            action()
        except Exception as exc:
            on_error(exc)


def has_pending_work(session: Session) -> bool:
    """Whether finishing ``session`` can do I/O: a transaction to end or tasks to send."""
    return session.in_transaction() or bool(session.info.get(_DEFERRED))


def discard_deferred(session: Session) -> None:
    session.info.pop(_DEFERRED, None)


@contextmanager
def session_scope(
    session: Session | None = None, *, on_send_error: SendErrorHandler | None = None
) -> Iterator[Session]:
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
    run_deferred(current, on_send_error)
