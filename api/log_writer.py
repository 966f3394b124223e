"""Writing log lines on a thread of their own, so the event loop never waits on I/O.

Lines are *formatted* by the thread that logs (only it has the request's context
variables and the exception being handled) and *written* by one writer thread,
in batches. The queue between them is bounded in bytes: when the output cannot
keep up (a full pipe, a slow disk), new lines are dropped and counted rather
than making the API wait; the writer logs how many were lost once it catches
up, and ``/metrics`` shows the total.

A forked child (a Celery pool process) gets a fresh queue and writer thread,
since threads do not survive ``fork``.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from typing import TextIO

import structlog

MAX_QUEUED_BYTES = 8 * 1024 * 1024
_BATCH_LINES = 512
_STOP_TIMEOUT_SECONDS = 2.0
_STOP = None  # the sentinel that ends the writer thread

_dropped = [0]  # lines dropped in this process since it started


class QueuedLogHandler(logging.Handler):
    """Formats in the caller, hands the line to the writer; drops (and counts) when full."""

    def __init__(self, stream: TextIO, max_bytes: int = MAX_QUEUED_BYTES) -> None:
        super().__init__()
        self.stream = stream
        self.max_bytes = max_bytes
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._queued_bytes = 0
        self._count_lock = threading.Lock()
        self._drained = threading.Condition(self._count_lock)
        self._reported_drops = _dropped[0]
        self._thread: threading.Thread | None = None

    # -- the logging side ----------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self._count_lock:
            if self._queued_bytes + len(line) > self.max_bytes:
                _dropped[0] += 1
                return
            self._queued_bytes += len(line)
        self._lines.put(line)

    def flush(self, timeout: float = _STOP_TIMEOUT_SECONDS) -> bool:  # type: ignore[override]
        """Wait until every queued line is written; False if that took over ``timeout``."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            return not self._queued_bytes
        with self._drained:
            return self._drained.wait_for(lambda: not self._queued_bytes, timeout)

    # -- the writer side -----------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._write_forever, name="log-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = _STOP_TIMEOUT_SECONDS) -> None:
        """Write what is queued (waiting at most ``timeout``) and end the writer."""
        if self._thread is not None:
            self._lines.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def restart_after_fork(self) -> None:
        self._lines = queue.SimpleQueue()
        self._queued_bytes = 0
        self._count_lock = threading.Lock()
        self._drained = threading.Condition(self._count_lock)
        self.start()

    def _write_forever(self) -> None:
        lines = self._lines
        while True:
            batch = [lines.get()]
            while batch[-1] is not _STOP and len(batch) < _BATCH_LINES:
                try:
                    batch.append(lines.get_nowait())
                except queue.Empty:
                    break
            text = [line for line in batch if line is not _STOP]
            self._write(text)
            if batch[-1] is _STOP:
                return

    def _write(self, lines: list[str]) -> None:
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:  # nowhere left to report it (and no notice: it would fail too)
                _dropped[0] += len(lines)
                self._reported_drops = _dropped[0]
            with self._drained:
                self._queued_bytes -= sum(len(line) for line in lines)
                self._drained.notify_all()
        if _dropped[0] > self._reported_drops:
            lost = _dropped[0] - self._reported_drops
            self._reported_drops = _dropped[0]
            # Through the normal path, so it is formatted (and queued) like any line.
            structlog.get_logger("api.logging").warning("log_lines_dropped", count=lost)


_lock = threading.Lock()
_active: QueuedLogHandler | None = None


def start(handler: QueuedLogHandler) -> None:
    """Make ``handler`` the process's queued writer (stopping any earlier one)."""
    global _active
    with _lock:
        if _active is not None:
            _active.stop()
        _active = handler
        handler.start()


def stop() -> None:
    """Write out what is queued (briefly) and stop the writer thread."""
    global _active
    with _lock:
        if _active is not None:
            _active.stop()
            _active = None


def flush(timeout: float = _STOP_TIMEOUT_SECONDS) -> bool:
    """Wait until every line logged so far is written; False after ``timeout``."""
    active = _active
    return True if active is None else active.flush(timeout)


def dropped_lines() -> int:
    """Lines dropped since the process started because the output fell behind."""
    return _dropped[0]


def _restart_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a lock held by another thread at fork time stays held here
    if _active is not None:
        _active.restart_after_fork()


os.register_at_fork(after_in_child=_restart_in_child)
atexit.register(stop)
