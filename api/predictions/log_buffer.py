"""The prediction log's in-memory buffer and its background flusher.

A request must never wait for the log: it appends one event (its validated
instances and prices, by reference) to a bounded buffer and returns. A thread
turns events into rows and inserts them in batches. When the buffer is full
(the database is down or too slow) new events are counted as dropped instead of
blocking requests or growing memory without bound. ``close()`` flushes what is
left, so a clean shutdown loses nothing.

A batch the database refuses because of its values (``RejectedRows``) is
retried row by row: the rows that fit are written, the ones that do not are
counted and dropped with one log line. A bad row never holds back the others.
Any other failure (the database is down) keeps the rows for the next flush.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.logging import get_logger
from api.ml.schema import FEATURES

log = get_logger("api.predictions.log")

# Column order of the row tuples handed to the writer (the table's columns but id).
LOG_COLUMNS: tuple[str, ...] = (
    "created_at",
    "request_id",
    "user_id",
    "model",
    "model_version",
    "position",
    *FEATURES,
    "price",
    "latency_ms",
)
Row = tuple[Any, ...]
RowWriter = Callable[[list[Row]], None]


class RejectedRows(Exception):
    """Raised by a writer when the database refused the values of the rows it was given."""


@dataclass(frozen=True, slots=True)
class PredictionEvent:
    """One answered request; expanded into one row per instance off the hot path."""

    created_at: datetime
    request_id: str
    user_id: int | None
    model: str
    model_version: int
    latency_ms: float
    instances: Sequence[Mapping[str, Any]]
    prices: Sequence[float]

    @property
    def size(self) -> int:
        return len(self.prices)

    def rows(self) -> list[Row]:
        """Tuples in LOG_COLUMNS order."""
        head = (self.created_at, self.request_id, self.user_id, self.model, self.model_version)
        return [
            (*head, i, *[instance[name] for name in FEATURES], price, self.latency_ms)
            for i, (instance, price) in enumerate(zip(self.instances, self.prices, strict=True))
        ]


@dataclass(frozen=True, slots=True)
class _Leftover:
    """Rows of a batch that were not written when the database went away mid-retry."""

    pending: list[Row]

    @property
    def size(self) -> int:
        return len(self.pending)

    def rows(self) -> list[Row]:
        return self.pending


@dataclass(frozen=True, slots=True)
class BufferStats:
    buffered_rows: int
    written_rows: int
    dropped_rows: int
    failed_flushes: int
    rejected_rows: int = 0


class PredictionLogBuffer:
    """Bounded in rows (``max_rows``); flushed every ``flush_seconds`` or whenever
    ``batch_rows`` rows are waiting, ``batch_rows`` rows per insert."""

    def __init__(
        self, writer: RowWriter, *, max_rows: int, batch_rows: int, flush_seconds: float
    ) -> None:
        self._writer = writer
        self._max_rows = max_rows
        self._batch_rows = max(1, batch_rows)
        self._flush_seconds = flush_seconds
        self._lock = threading.Lock()
        # Serialises flushes between the thread and close()/flush() callers.
        self._flush_lock = threading.Lock()
        self._events: deque[PredictionEvent | _Leftover] = deque()
        self._rows = 0
        self._written = self._dropped = self._failed = self._rejected = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, event: PredictionEvent) -> bool:
        """Queue ``event``; False (and counted as dropped) when the buffer is full."""
        n = len(event.prices)
        with self._lock:
            if self._rows + n > self._max_rows:
                first_drop = self._dropped == 0
                self._dropped += n
            else:
                self._events.append(event)
                self._rows += n
                if self._rows >= self._batch_rows:
                    self._wake.set()
                return True
        if first_drop:
            log.warning("prediction_log_full", max_rows=self._max_rows)
        return False

    def stats(self) -> BufferStats:
        with self._lock:
            return BufferStats(
                self._rows, self._written, self._dropped, self._failed, self._rejected
            )

    def flush(self) -> int:
        """Write everything buffered now, in batches; returns the rows written.

        A failed insert puts its rows back at the front (if they still fit) and
        stops this flush; the next tick retries. Refused values: see the module.
        """
        written = 0
        with self._flush_lock:
            while True:
                batch = self._take(self._batch_rows)
                if not batch:
                    return written
                rows = [row for event in batch for row in event.rows()]
                try:
                    self._writer(rows)
                except RejectedRows:
                    done, unwritten = self._one_by_one(rows)
                    written += done
                    if unwritten:
                        self._give_back([_Leftover(unwritten)])
                        return written
                    continue
                except Exception as exc:  # database down or slow: keep the rows, retry later
                    self._give_back(batch)
                    log.warning("prediction_log_flush_failed", error=f"{type(exc).__name__}: {exc}")
                    return written
                written += len(rows)
                with self._lock:
                    self._written += len(rows)

    def _one_by_one(self, rows: list[Row]) -> tuple[int, list[Row]]:
        """Write ``rows`` singly, dropping refused ones; (rows written, rows left unwritten).

        Rows are left unwritten only when the database fails for another reason
        part-way; they go back to the buffer without the ones already written.
        """
        written, rejected, first_error = 0, 0, ""
        for index, row in enumerate(rows):
            try:
                self._writer([row])
            except RejectedRows as exc:
                rejected += 1
                first_error = first_error or f"{exc.__cause__ or exc}"
                continue
            except Exception as exc:
                log.warning("prediction_log_flush_failed", error=f"{type(exc).__name__}: {exc}")
                self._count(written, rejected)
                return written, rows[index:]
            written += 1
        self._count(written, rejected)
        if rejected:
            log.warning("prediction_log_rows_rejected", rows=rejected, error=first_error[:300])
        return written, []

    def _count(self, written: int, rejected: int) -> None:
        with self._lock:
            self._written += written
            self._rejected += rejected

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread and flush what is left (the shutdown path)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.flush()
        stats = self.stats()
        if stats.buffered_rows or stats.dropped_rows:
            log.warning(
                "prediction_log_closed_with_loss",
                unwritten=stats.buffered_rows,
                dropped=stats.dropped_rows,
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._flush_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return  # close() flushes
            self.flush()

    def _take(self, limit: int) -> list[PredictionEvent | _Leftover]:
        """Whole events worth about ``limit`` rows (at least one event)."""
        taken: list[PredictionEvent | _Leftover] = []
        count = 0
        with self._lock:
            while self._events and (not taken or count + self._events[0].size <= limit):
                event = self._events.popleft()
                taken.append(event)
                count += event.size
            self._rows -= count
        return taken

    def _give_back(self, batch: list[PredictionEvent | _Leftover]) -> None:
        n = sum(e.size for e in batch)
        with self._lock:
            self._failed += 1
            if self._rows + n > self._max_rows:
                self._dropped += n
                return
            self._events.extendleft(reversed(batch))
            self._rows += n
