"""Rows of a source as a CSV byte stream, read through a server-side cursor.

Jobs already read, validate, predict and fingerprint CSV streams chunk by
chunk; a source's rows become the same kind of stream (the canonical CSV: a
header of the selected names, then one record per row, values written by the
``csv`` module), so they go through the very same code and memory stays flat:
one partition of rows is held at a time. The sha256 of that stream is the
rows' fingerprint: the same rows read the same way give the same digest.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Executable, Select, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from api.config import get_settings
from api.errors import InvalidInput
from api.sources.catalogue import query_columns, table_select
from api.sources.connection import Target, query_failed, read_only
from api.sources.schemas import SourceInput

_COPY_BLOCK_BYTES = 1 << 20


class _Lines:
    """A file-like sink for ``csv.writer`` that collects the text it is given."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def take(self) -> bytes:
        data = "".join(self.parts).encode("utf-8")
        self.parts.clear()
        return data


def csv_records(columns: Sequence[str], partitions: Iterator[Sequence[Any]]) -> Iterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(columns)
    yield lines.take()
    for rows in partitions:
        writer.writerows(rows)
        yield lines.take()


class ChunkStream(io.RawIOBase):
    """A readable binary stream over an iterator of byte strings."""

    def __init__(self, chunks: Iterator[bytes], rows: int | None = None) -> None:
        self._chunks = chunks
        self._current = memoryview(b"")
        self.rows = rows  # how many rows the stream holds, when known (for progress)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._current:
            try:
                self._current = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n


def statement_for(connection: Connection, spec: SourceInput, *, require_target: bool) -> Executable:
    """The checked statement for ``spec``: a table's SELECT, or an admin's query."""
    if spec.query is not None:
        query_columns(connection, spec.query)  # fails now, naming the reason
        return text(spec.query)
    return table_select(connection, spec, require_target=require_target)


def count_rows(connection: Connection, statement: Executable) -> int:
    """The rows ``statement`` answers (one more scan, for a job's progress)."""
    if isinstance(statement, Select):
        counted = select(func.count()).select_from(statement.order_by(None).subquery())
        return int(connection.execute(counted).scalar_one())
    inner = str(statement)
    return int(connection.execute(text(f"SELECT count(*) FROM ({inner}) AS q")).scalar_one())  # noqa: S608


def check_input(target: Target, spec: SourceInput, *, require_target: bool) -> None:
    """Everything about ``spec`` that can be known without reading a row; 422 if wrong."""
    with read_only(target) as connection:
        try:
            statement_for(connection, spec, require_target=require_target)
        except SQLAlchemyError as exc:
            raise query_failed(target, exc) from None


@contextmanager
def open_rows(target: Target, spec: SourceInput, *, require_target: bool) -> Iterator[ChunkStream]:
    """The rows of ``spec`` as a canonical CSV stream, valid while the block runs.

    Postgres writes the CSV itself (``COPY (SELECT ...) TO STDOUT``): no Python
    object per row, several times faster than fetching rows. Other databases'
    rows are fetched in partitions and written by the ``csv`` module.
    """
    with read_only(target) as connection:
        try:
            statement = statement_for(connection, spec, require_target=require_target)
            total = count_rows(connection, statement)
        except SQLAlchemyError as exc:
            raise query_failed(target, exc) from None
        if target.dialect == "postgresql":
            copied = _copied(connection, spec, statement)
            yield ChunkStream(
                _guarded(target, copied, connection.dialect.loaded_dbapi.Error), total
            )
            return
        chunk_rows = get_settings().source_chunk_rows
        try:
            result = connection.execution_options(
                stream_results=True, yield_per=chunk_rows
            ).execute(statement)
        except SQLAlchemyError as exc:
            raise query_failed(target, exc) from None
        with result:
            records = csv_records(list(result.keys()), result.partitions(chunk_rows))
            yield ChunkStream(_guarded(target, records, SQLAlchemyError), total)


def _copied(connection: Connection, spec: SourceInput, statement: Executable) -> Iterator[bytes]:
    """The rows as Postgres writes them in CSV, header first, block by block."""
    if spec.query is not None:
        sql, params = spec.query, None  # an admin's own SQL, passed as written
    else:
        assert isinstance(statement, Select)
        compiled = statement.compile(dialect=connection.dialect)
        sql, params = str(compiled), compiled.params
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)", params) as copy:
        # The driver hands over one row at a time: pass them on by the megabyte.
        pending: list[bytes] = []
        size = 0
        for block in copy:
            pending.append(bytes(block))
            size += len(block)
            if size >= _COPY_BLOCK_BYTES:
                yield b"".join(pending)
                pending, size = [], 0
        yield b"".join(pending)


def _guarded(target: Target, chunks: Iterator[bytes], errors: type[Exception]) -> Iterator[bytes]:
    """Read errors mid-stream (a statement timeout, a lost connection) as 422s."""
    try:
        yield from chunks
    except SQLAlchemyError as exc:
        raise query_failed(target, exc) from None
    except errors as exc:  # the driver's own, from COPY
        reason = str(exc).strip().splitlines()
        raise InvalidInput(
            f"source {target.name}: the read failed: {reason[0] if reason else type(exc).__name__}",
            code="source_query_failed",
        ) from None
