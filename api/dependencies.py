"""FastAPI dependencies shared by every domain (HTTP layer only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Annotated, TypeVar

import anyio.to_thread
from anyio import CancelScope, CapacityLimiter
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.session import SessionOpener, has_pending_work, session_scope
from api.logging import get_logger

log = get_logger("api.dependencies")
T = TypeVar("T")
_UNIT = "tasador.request_unit"  # session.info key: the request's unfinished unit of work


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


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One unit of work per request, finished before the answer leaves.

    ``scope="function"`` below makes FastAPI run the code after ``yield`` (commit,
    then hand deferred tasks to the broker) before the response is sent, so a
    client never holds the id of a job that is not yet committed. With the
    default scope that code runs after the response has been sent.

    Opening the unit of work does no I/O (the connection is taken on first
    use), so it happens on the event loop; finishing it (commit, sends) runs
    in a pool thread, and only when the session was used. A sync dependency
    would cost a trip to the pool for each of the two.
    """
    unit = request_unit_of_work(request)
    session = unit.__enter__()
    session.info[_UNIT] = unit
    try:
        yield session
    except BaseException as exc:
        if session.info.pop(_UNIT, None) is None:
            raise  # finished by in_one_thread already
        if not await _finish(unit, exc):
            raise
    else:
        if session.info.pop(_UNIT, None) is None:
            return  # finished by in_one_thread already
        if has_pending_work(session):
            await _finish(unit, None)
        else:
            unit.__exit__(None, None, None)  # nothing to commit or send: no I/O


async def in_one_thread(session: Session, work: Callable[[], T]) -> T:
    """Run ``work`` and then finish the request's unit of work (commit, then the
    deferred sends) in one pool thread, and return what ``work`` returned.

    For an ``async def`` route whose blocking part is one piece (a submit: the
    checks against the object store, the insert, the commit, the broker send):
    one trip to the thread pool instead of one per blocking dependency and one
    to finish the session. ``work`` must also build the answer, as the session
    is closed when it returns. If ``work`` raises, the unit rolls back there and
    the error propagates. A session a test supplied (no unit of work attached)
    is only used, not finished.
    """
    unit: AbstractContextManager[Session] | None = session.info.pop(_UNIT, None)

    def run() -> T:
        if unit is None:
            return work()
        try:
            result = work()
        except BaseException as exc:
            unit.__exit__(type(exc), exc, exc.__traceback__)  # rolls back; never swallows
            raise
        unit.__exit__(None, None, None)
        return result

    # Not cancellable (anyio's default): a client that leaves does not cut a commit short.
    return await anyio.to_thread.run_sync(run)


async def _finish(unit: AbstractContextManager[Session], exc: BaseException | None) -> bool:
    """``unit.__exit__`` in a thread, as FastAPI finishes a sync dependency: shielded
    from cancellation (a client that left must not leak the connection) and with
    its own limiter (a full pool must not keep the session from releasing its
    connection)."""
    suppressed = False
    with CancelScope(shield=True):
        suppressed = bool(
            await anyio.to_thread.run_sync(
                unit.__exit__,
                None if exc is None else type(exc),
                exc,
                None if exc is None else exc.__traceback__,
                limiter=CapacityLimiter(1),
            )
        )
    return suppressed


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
