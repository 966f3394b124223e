"""Structured logging for API and worker: JSON in production, text in a terminal.

Request and job ids are bound in context variables, so every line a request or
a job produces carries them without being passed around.

Every line, from structlog or from a library's stdlib logger (uvicorn, Celery,
SQLAlchemy), goes through one formatter: exceptions become a plain traceback
(never local variables: they hold keys, passwords and whole request bodies, and
rendering them cost seconds per exception), then ``api.log_redaction`` removes
secrets. The API writes on a thread of its own (``api.log_writer``) so that a
slow log output never stalls the event loop.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import structlog

from api import log_writer
from api.config import get_settings
from api.log_redaction import RedactingRenderer

# Set on an exception whose traceback is already in the log, so the server's own
# "Exception in ASGI application" line does not repeat it.
_LOGGED_MARK = "_tasador_logged"


def _renderer(fmt: str) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    # format_exc_info has already turned the exception into plain text; the
    # formatter below only matters if something hands the renderer an exc_info.
    return structlog.dev.ConsoleRenderer(
        colors=False, exception_formatter=structlog.dev.plain_traceback
    )


def build_formatter(fmt: str) -> structlog.stdlib.ProcessorFormatter:
    """The formatter every handler of the service uses (``json`` or ``text``)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,  # "exception": the traceback, no locals
            RedactingRenderer(_renderer(fmt)),
        ],
    )


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _not_logged_twice(record: logging.LogRecord) -> bool:
    exc = record.exc_info[1] if record.exc_info else None
    return not (exc is not None and getattr(exc, _LOGGED_MARK, False))


def mark_logged(exc: BaseException) -> None:
    """Say that ``exc``'s traceback is in the log, so no later line repeats it."""
    with contextlib.suppress(AttributeError):  # an exception type with __slots__
        setattr(exc, _LOGGED_MARK, True)


def configure_logging(force_format: str | None = None, *, background: bool = False) -> None:
    """Route every logger through the service's formatter.

    ``background``: write from a writer thread with a bounded queue (the API,
    whose event loop must never wait on the log output). Processes without an
    event loop (workers, commands) write directly, so no line is lost when a
    pool process exits without running ``atexit``.
    """
    settings = get_settings()
    fmt = force_format or settings.log_format
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = log_writer.QueuedLogHandler(sys.stderr) if background else logging.StreamHandler()
    handler.setFormatter(build_formatter(fmt))
    handler.addFilter(_not_logged_twice)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # After the swap, so that the previous writer, if any, has written all it got.
    if isinstance(handler, log_writer.QueuedLogHandler):
        log_writer.start(handler)
    else:
        log_writer.stop()


def flush_logs(timeout: float = 2.0) -> bool:
    """Wait until every line logged so far is written (tests, shutdown)."""
    return log_writer.flush(timeout)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
