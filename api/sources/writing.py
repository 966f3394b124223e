"""Writing a job's CSV output into a new table of a writable source.

An attempt writes into its own staging table (``_tasador_stage_<job>_<attempt>``,
``..._e`` for the errors), created and filled in one transaction of its own: a
worker that dies while writing leaves nothing, as the transaction rolls back.
When the job succeeds, :func:`promote` renames the staging tables to their final
names in one transaction; :func:`drop_staging` removes them on any other end.
Rows arrive as the CSV a batch job writes (the same bytes an S3 output gets):
Postgres takes them with ``COPY``; other databases get batched INSERTs.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, Connection, Float, MetaData, Table, Text, inspect

from api.datasets.csv_header import record_ends
from api.errors import Conflict, InvalidInput
from api.ml.schema import NUMERIC
from api.sources.catalogue import TableName, table_exists, user_schemas
from api.sources.connection import Target, connect

STAGING_PREFIX = "_tasador_stage_"
_FLOAT_COLUMNS = frozenset([*NUMERIC, "price", "price_pred", "price_lower", "price_upper"])
_INSERT_BATCH = 5_000


def staging_name(job_id: uuid.UUID, attempt: int, errors: bool = False) -> str:
    return f"{STAGING_PREFIX}{job_id.hex}_{attempt}{'_e' if errors else ''}"


def errors_table(name: str) -> str:
    return f"{name}_errors"


def check_new_table(connection: Connection, target: Target, table: str) -> None:
    """409 ``output_exists`` if the table or its errors table exists already; 422
    ``schema_not_found`` for a schema the source does not list (SQLite's ``temp``
    among them: a table there would vanish with the job's connection)."""
    name = parse_name(table)
    if name.schema is not None and name.schema not in (schemas := user_schemas(connection)):
        raise InvalidInput(
            f"output_data: source {target.name} has no schema {name.schema!r} for a new "
            f"table; its schemas: {', '.join(schemas)}",
            code="schema_not_found",
            details={"source": target.name, "schema": name.schema},
        )
    for candidate in (name, TableName(name.schema, errors_table(name.name))):
        if table_exists(connection, candidate):
            raise Conflict(
                f"output_data: table {candidate} already exists on source {target.name}; "
                "jobs never replace a table: name a new one",
                code="output_exists",
                details={"source": target.name, "table": str(candidate)},
            )


def parse_name(table: str) -> TableName:
    schema, _, name = table.rpartition(".")
    return TableName(schema or None, name)


def _column_type(name: str) -> Any:
    if name in _FLOAT_COLUMNS:
        return Float(precision=53)
    return BigInteger() if name == "row" else Text()


class TableSink(io.RawIOBase):
    """A writable binary stream of CSV (header first) that fills ``table``."""

    def __init__(self, connection: Connection, table: TableName) -> None:
        self.connection = connection
        self.name = table
        self.pending = b""
        self.header: list[str] | None = None
        self.table: Table | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pending += bytes(data)
        ends = record_ends(self.pending)
        if ends.size:
            cut = int(ends[-1]) + 1
            self._records(self.pending[:cut])
            self.pending = self.pending[cut:]
        return len(data)

    def finish(self) -> None:
        if self.pending.strip():
            self._records(self.pending + b"\n")
        self.pending = b""
        if self.table is None:
            self._create([])

    def _create(self, header: list[str]) -> Table:
        columns = [Column(name, _column_type(name)) for name in header]
        self.table = Table(self.name.name, MetaData(), *columns, schema=self.name.schema)
        self.table.create(self.connection)
        return self.table

    def _records(self, text: bytes) -> None:
        if self.table is None:
            line, _, text = text.partition(b"\n")
            self.header = next(csv.reader([line.decode("utf-8")]))
            self._create(self.header)
        if not text:
            return
        if self.connection.dialect.name == "postgresql":
            self._copy(text)
        else:
            self._insert(text)

    def _copy(self, text: bytes) -> None:
        assert self.table is not None
        quote = self.connection.dialect.identifier_preparer.quote
        target = self.connection.dialect.identifier_preparer.format_table(self.table)
        names = ", ".join(quote(c.name) for c in self.table.columns)
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {target} ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(text)

    def _insert(self, text: bytes) -> None:
        assert self.table is not None and self.header is not None
        keys = self.header
        rows = [
            {k: (v if v != "" else None) for k, v in zip(keys, record, strict=False)}
            for record in csv.reader(io.StringIO(text.decode("utf-8")))
        ]
        for start in range(0, len(rows), _INSERT_BATCH):
            self.connection.execute(self.table.insert(), rows[start : start + _INSERT_BATCH])


@contextmanager
def staged_tables(
    target: Target, final: str, job_id: uuid.UUID, attempt: int
) -> Iterator[tuple[TableSink, TableSink]]:
    """Sinks for the predictions and the errors, committed together when the block ends."""
    schema = parse_name(final).schema
    drop_staging(target, job_id, below=attempt)  # an earlier attempt's, if one was left
    with connect(target) as connection:
        output = TableSink(connection, TableName(schema, staging_name(job_id, attempt)))
        errors = TableSink(connection, TableName(schema, staging_name(job_id, attempt, True)))
        yield output, errors
        output.finish()
        errors.finish()


def promote(target: Target, final: str, job_id: uuid.UUID, attempt: int, *, errors: bool) -> None:
    """Rename the staging tables to their final names in one transaction.

    The errors table is dropped instead when no row failed.
    """
    name = parse_name(final)
    with connect(target) as connection:
        check_new_table(connection, target, final)
        preparer = connection.dialect.identifier_preparer

        def quoted(table: str) -> str:
            return preparer.format_table(Table(table, MetaData(), schema=name.schema))

        stage, stage_errors = staging_name(job_id, attempt), staging_name(job_id, attempt, True)
        connection.exec_driver_sql(
            f"ALTER TABLE {quoted(stage)} RENAME TO {preparer.quote(name.name)}"
        )
        if errors:
            new = preparer.quote(errors_table(name.name))
            connection.exec_driver_sql(f"ALTER TABLE {quoted(stage_errors)} RENAME TO {new}")
        else:
            connection.exec_driver_sql(f"DROP TABLE {quoted(stage_errors)}")


@dataclass(frozen=True)
class StagingTable:
    schema: str | None
    name: str
    job_id: uuid.UUID
    attempt: int


def staging_tables(target: Target, job_id: uuid.UUID | None = None) -> list[StagingTable]:
    """The staging tables on ``target`` (of one job, or of every job)."""
    found: list[StagingTable] = []
    prefix = f"{STAGING_PREFIX}{job_id.hex}_" if job_id else STAGING_PREFIX
    with connect(target) as connection:
        inspector = inspect(connection)
        default = inspector.default_schema_name
        for schema in inspector.get_schema_names():
            if schema == "information_schema" or schema.startswith("pg_"):
                continue
            for table in inspector.get_table_names(schema=schema):
                if not table.startswith(prefix):
                    continue
                job_hex, _, attempt = table[len(STAGING_PREFIX) :].removesuffix("_e").partition("_")
                try:
                    owner, number = uuid.UUID(hex=job_hex), int(attempt)
                except ValueError:
                    continue
                found.append(
                    StagingTable(None if schema == default else schema, table, owner, number)
                )
    return found


def drop_tables(target: Target, tables: list[StagingTable]) -> None:
    if not tables:
        return
    with connect(target) as connection:
        for table in tables:
            Table(table.name, MetaData(), schema=table.schema).drop(connection, checkfirst=True)


def drop_staging(
    target: Target, job_id: uuid.UUID, *, attempt: int | None = None, below: int | None = None
) -> None:
    """Drop this job's staging tables: one attempt's, or every attempt's before ``below``."""
    drop_tables(
        target,
        [
            table
            for table in staging_tables(target, job_id)
            if (attempt is None or table.attempt == attempt)
            and (below is None or table.attempt < below)
        ],
    )
