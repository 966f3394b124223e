"""Process lifecycle: compiled kernels before fork, fresh database pools after it,
the reaper thread, log context."""

from __future__ import annotations

from typing import Any

import structlog
from celery.signals import (
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from api.db.engine import dispose_engine
from api.jobs.execution.reaper import ReaperThread
from api.ml.predictor import compile_kernels

_reaper: ReaperThread | None = None


@worker_init.connect
def _compile_predictor_kernels(**_: Any) -> None:
    # In the parent, before the pool forks: every child inherits the machine code
    # instead of compiling it at its first model (0.5-3 s each).
    compile_kernels()


@worker_process_init.connect
def _fresh_pool_after_fork(**_: Any) -> None:
    # A pool inherited from the parent would share its sockets with it.
    dispose_engine()


@worker_ready.connect
def _start_reaper(**_: Any) -> None:
    global _reaper
    _reaper = ReaperThread()
    _reaper.start()


@worker_shutdown.connect
def _stop_reaper(**_: Any) -> None:
    if _reaper is not None:
        _reaper.stopped.set()


@task_prerun.connect
def _bind_task_context(task_id: str | None = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id)
