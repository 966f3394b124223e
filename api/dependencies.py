"""FastAPI dependencies shared by every domain (HTTP layer only)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.session import SessionOpener, session_scope
from api.logging import get_logger

log = get_logger("api.dependencies")


@contextmanager
def request_unit_of_work(request: Request, session: Session | None = None) -> Iterator[Session]:
    """Commit on success, roll back on error, then send the deferred tasks.

    If the broker refuses a task after the commit, the job is durable: the
    reaper sends queued jobs whose message was lost. The request still
    succeeds, with a ``Retry-After`` hint (added by the request middleware)
    saying when polling is worth it, and a warning is logged.
    """

    def unsent(exc: Exception) -> None:
        log.warning(
            "task_send_failed",
            error=f"{type(exc).__name__}: {exc}",
            outcome="kept in the database; the reaper sends it",
        )
        # The reaper re-sends a queued job once it has waited this long, on its next pass.
        settings = get_settings()
        wait = settings.queued_resend_seconds + settings.reaper_interval_seconds
        request.state.retry_after = max(1, round(wait))

    with session_scope(session, on_send_error=unsent) as current:
        yield current


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request, finished before the answer leaves.

    ``scope="function"`` below makes FastAPI run the code after ``yield`` (commit,
    then hand deferred tasks to the broker) before the response is sent, so a
    client never holds the id of a job that is not yet committed. With the
    default scope that code runs after the response has been sent.
    """
    with request_unit_of_work(request) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def open_sessions(request: Request) -> SessionOpener:
    """How this app opens a short unit of work of its own: ``session_scope``, or
    what a test put in ``app.state.session_opener`` to run in its transaction.

    For work that needs the database only sometimes (a credential or model
    cache miss), where ``DbSession`` would cost two trips to the thread pool
    on every request. A plain function rather than a dependency, which
    FastAPI would resolve on every request for what only a miss uses.
    """
    opener: SessionOpener = getattr(request.app.state, "session_opener", session_scope)
    return opener
