"""Dependency checks for ``/readyz``: each returns None when healthy, else a reason.

Every check runs in a small thread pool and ``/readyz`` waits at most
``TIMEOUT_SECONDS`` in total. A check that hangs (a host that drops packets
instead of refusing them keeps a TCP connect waiting for minutes) keeps its
thread; the next probe waits on that same unfinished run instead of starting
another, so hung checks can neither pile up threads nor starve the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from sqlalchemy import text

from api.db.engine import get_engine
from api.queue import producer
from api.storage import get_store

TIMEOUT_SECONDS = 3.0


def database() -> str | None:
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))
    return None


def broker() -> str | None:
    # One attempt, no retry: kombu sleeps 2 s before its first retry, which would
    # make every probe against a broker that refuses connections that slow.
    with producer().connection_for_write() as connection:
        connection.ensure_connection(max_retries=0, timeout=TIMEOUT_SECONDS)
    return None


def object_store() -> str | None:
    return get_store().readiness_check()


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": database,
    "broker": broker,
    "object_store": object_store,
}

_pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")
_lock = threading.Lock()
_running: dict[str, Future[str | None]] = {}


def _guarded(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def _start(name: str, check: Callable[[], str | None]) -> Future[str | None]:
    """A fresh run of ``check``, or its previous run while that has not finished."""
    with _lock:
        previous = _running.get(name)
        if previous is not None and not previous.done():
            return previous
        future = _pool.submit(_guarded, check)
        _running[name] = future
        return future


def run_all() -> dict[str, str | None]:
    """Run every check concurrently; all of them together get ``TIMEOUT_SECONDS``."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    futures = {name: _start(name, check) for name, check in CHECKS.items()}
    results: dict[str, str | None] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            results[name] = f"no answer within {TIMEOUT_SECONDS:.0f} s"
    return results
