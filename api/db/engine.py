"""One engine per process, created lazily.

The worker forks its pool processes; a connection pool inherited across a fork
shares sockets with the parent, so the engine is created on first use in the
process that uses it, and ``dispose_engine`` is called after a fork.
"""

from __future__ import annotations

import threading

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.config import get_settings

_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None
_ping_on_checkout = True


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def build_engine(url: str, *, ping_on_checkout: bool = True) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Connections are opened on demand and at most pool_size are kept. With fewer
    # kept than an API process uses at once (up to one per pool thread during a
    # submit burst), each overflow connection was closed on return and opened
    # again by the next request: a Postgres backend started per request.
    return create_engine(url, pool_pre_ping=ping_on_checkout, pool_size=20, max_overflow=20)


def set_ping_on_checkout(enabled: bool) -> None:
    """Whether this process's engine (built after this call) pings each connection it lends.

    The ping is a round trip per checkout. The API turns it off: a connection
    that died with a database restart fails one request with ``503`` (an
    ``OperationalError``), SQLAlchemy then invalidates the pool, and the next
    requests reconnect. The worker keeps it: there a failed statement can cost
    a job attempt, and checkouts are rare.
    """
    global _ping_on_checkout
    _ping_on_checkout = enabled


def get_engine() -> Engine:
    global _engine, _factory
    if _engine is None:
        with _lock:
            if _engine is None:
                url = get_settings().sqlalchemy_url
                if url.startswith("sqlite"):
                    get_settings().data_dir.mkdir(parents=True, exist_ok=True)
                _engine = build_engine(url, ping_on_checkout=_ping_on_checkout)
                _factory = sessionmaker(bind=_engine, expire_on_commit=False)
    return _engine


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _factory is not None
    return _factory


def configure_engine(engine: Engine) -> None:
    """Use ``engine`` for this process (tests and the standalone runner)."""
    global _engine, _factory
    _engine = engine
    _factory = sessionmaker(bind=engine, expire_on_commit=False)


def dispose_engine() -> None:
    """Forget the engine; the next use builds a fresh pool (call after fork)."""
    global _engine, _factory
    with _lock:
        if _engine is not None:
            _engine.dispose(close=False)
        _engine = None
        _factory = None
