"""Structured logging for API and worker: JSON in production, text in a terminal.

Request and job ids are bound in context variables, so every line a request or
a job produces carries them without being passed around.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from api.config import get_settings


def configure_logging(force_format: str | None = None) -> None:
    settings = get_settings()
    fmt = force_format or settings.log_format
    if fmt == "auto":
        fmt = "text" if sys.stderr.isatty() else "json"
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
