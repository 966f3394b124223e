"""The prediction-log buffer: bounded, batched, and lossless on a clean close."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from api.ml.schema import FEATURES
from api.predictions.log_buffer import (
    LOG_COLUMNS,
    PredictionEvent,
    PredictionLogBuffer,
    RejectedRows,
)

FEATURE_VALUES = {name: 1.0 for name in FEATURES} | {"type": "casa", "sector": "nunoa"}


def event(n: int, version: int = 1, request_id: str = "r") -> PredictionEvent:
    return PredictionEvent(
        created_at=datetime.now(UTC),
        request_id=request_id,
        user_id=3,
        model="production",
        model_version=version,
        latency_ms=1.5,
        instances=[{**FEATURE_VALUES, "n_rooms": float(i)} for i in range(n)],
        prices=[float(1000 + i) for i in range(n)],
    )


class Table:
    """Stands in for the database table: records each inserted batch."""

    def __init__(self) -> None:
        self.batches: list[list[dict[str, Any]]] = []  # rows as column -> value
        self.fail = False
        self.block = threading.Event()
        self.block.set()

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        self.block.wait(5)
        if self.fail:
            raise ConnectionError("database is down")
        self.batches.append([dict(zip(LOG_COLUMNS, row, strict=True)) for row in rows])

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for batch in self.batches for row in batch]


def test_each_instance_becomes_one_row_with_its_request_context() -> None:
    table = Table()
    buffer = PredictionLogBuffer(table.insert, max_rows=100, batch_rows=10, flush_seconds=60)
    buffer.add(event(3, version=4, request_id="abc"))
    buffer.close()
    assert [r["position"] for r in table.rows] == [0, 1, 2]
    assert [r["price"] for r in table.rows] == [1000.0, 1001.0, 1002.0]
    assert {r["request_id"] for r in table.rows} == {"abc"}
    assert {r["model_version"] for r in table.rows} == {4}
    assert table.rows[1]["n_rooms"] == 1.0
    assert table.rows[1]["sector"] == "nunoa"


def test_close_flushes_everything_still_buffered() -> None:
    table = Table()
    buffer = PredictionLogBuffer(table.insert, max_rows=10_000, batch_rows=50, flush_seconds=60)
    buffer.start()
    for _ in range(30):
        buffer.add(event(7))
    buffer.close()
    assert len(table.rows) == 210
    assert buffer.stats().buffered_rows == 0
    assert buffer.stats().written_rows == 210


def test_rows_are_inserted_in_batches_of_about_the_configured_size() -> None:
    table = Table()
    buffer = PredictionLogBuffer(table.insert, max_rows=10_000, batch_rows=10, flush_seconds=60)
    for _ in range(10):
        buffer.add(event(4))
    buffer.flush()
    assert all(len(batch) <= 10 for batch in table.batches)
    assert len(table.rows) == 40


def test_the_thread_flushes_on_its_own_every_interval() -> None:
    table = Table()
    buffer = PredictionLogBuffer(table.insert, max_rows=1000, batch_rows=500, flush_seconds=0.05)
    buffer.start()
    try:
        buffer.add(event(2))
        deadline = time.monotonic() + 2
        while not table.rows and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(table.rows) == 2
    finally:
        buffer.close()


def test_a_full_buffer_counts_drops_instead_of_blocking_the_request() -> None:
    table = Table()
    table.block.clear()  # the database hangs
    buffer = PredictionLogBuffer(table.insert, max_rows=10, batch_rows=5, flush_seconds=0.01)
    buffer.start()
    try:
        started = time.perf_counter()
        accepted = [buffer.add(event(4)) for _ in range(10)]
        assert time.perf_counter() - started < 0.5
        assert not all(accepted)
        assert buffer.stats().dropped_rows == 4 * accepted.count(False)
    finally:
        table.block.set()
        buffer.close()


def test_rows_of_a_failed_insert_are_kept_and_written_later() -> None:
    table = Table()
    table.fail = True
    buffer = PredictionLogBuffer(table.insert, max_rows=100, batch_rows=10, flush_seconds=60)
    buffer.add(event(3))
    assert buffer.flush() == 0
    assert buffer.stats().buffered_rows == 3
    table.fail = False
    assert buffer.flush() == 3
    assert len(table.rows) == 3
    assert buffer.stats().failed_flushes == 1


class PickyTable(Table):
    """Refuses rows whose request id is longer than the column, as the database does;
    ``down_after`` simulates the database going away after that many inserts."""

    def __init__(self, down_after: int | None = None) -> None:
        super().__init__()
        self.calls = 0
        self.down_after = down_after

    def insert(self, rows: list[tuple[Any, ...]]) -> None:
        self.calls += 1
        if self.down_after is not None and self.calls > self.down_after:
            raise ConnectionError("database is down")
        if any(len(dict(zip(LOG_COLUMNS, r, strict=True))["request_id"]) > 64 for r in rows):
            raise RejectedRows("value too long for type character varying(64)")
        super().insert(rows)


def test_a_refused_row_is_dropped_and_counted_and_its_batch_still_written() -> None:
    table = PickyTable()
    buffer = PredictionLogBuffer(table.insert, max_rows=100, batch_rows=100, flush_seconds=60)
    buffer.add(event(2, request_id="before"))
    buffer.add(event(1, request_id="x" * 65))
    buffer.add(event(2, request_id="after"))
    assert buffer.flush() == 4
    assert [r["request_id"] for r in table.rows] == ["before", "before", "after", "after"]
    stats = buffer.stats()
    assert (stats.rejected_rows, stats.buffered_rows, stats.written_rows) == (1, 0, 4)
    buffer.add(event(1, request_id="later"))
    assert buffer.flush() == 1  # nothing is left behind to fail again


def test_an_outage_during_the_row_by_row_retry_keeps_only_the_unwritten_rows() -> None:
    table = PickyTable(down_after=3)  # the batch, then two single rows, then down
    buffer = PredictionLogBuffer(table.insert, max_rows=100, batch_rows=100, flush_seconds=60)
    buffer.add(event(1, request_id="x" * 65))
    buffer.add(event(3, request_id="ok"))
    assert buffer.flush() == 1  # the bad row dropped, one good row written, then the outage
    assert buffer.stats().buffered_rows == 2
    table.down_after = None
    assert buffer.flush() == 2
    assert [r["position"] for r in table.rows] == [0, 1, 2]  # each row once, none twice
