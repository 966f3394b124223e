"""Dependency checks for ``/readyz``: each returns None when healthy, else a reason."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    with producer().connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    return None


def object_store() -> str | None:
    return get_store().readiness_check()


CHECKS: dict[str, Callable[[], str | None]] = {
    "database": database,
    "broker": broker,
    "object_store": object_store,
}

_pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="readyz")


def _guarded(check: Callable[[], str | None]) -> str | None:
    try:
        return check()
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"


def run_all() -> dict[str, str | None]:
    """Run every check concurrently, each bounded by a timeout."""
    futures = {name: _pool.submit(_guarded, check) for name, check in CHECKS.items()}
    results: dict[str, str | None] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=TIMEOUT_SECONDS + 1)
        except FutureTimeout:
            results[name] = f"no answer within {TIMEOUT_SECONDS:.0f} s"
    return results
