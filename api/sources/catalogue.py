"""Names checked against the database's own catalogue before any SQL names them.

A table is found among the tables the catalogue lists (``[schema.]table``,
matched exactly), a column among that table's columns; the statement is then
built by SQLAlchemy from the reflected objects, so every identifier is quoted
by the dialect and every value is a bound parameter. A name that is not in the
catalogue (``users; drop table x`` included) is refused with
``table_not_found`` or ``column_not_found`` and never reaches SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, MetaData, Select, Table, inspect, select, text
from sqlalchemy.sql.elements import ColumnElement

from api.errors import InvalidInput
from api.ml.schema import FEATURES, TARGET
from api.sources.schemas import SourceInput


@dataclass(frozen=True)
class TableName:
    schema: str | None
    name: str

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


SYSTEM_SCHEMAS = frozenset({"information_schema", "pg_catalog", "pg_toast"})


def user_schemas(connection: Connection) -> list[str]:
    """The schemas a job may name: the catalogue's, system schemas left out."""
    return [s for s in inspect(connection).get_schema_names() if s not in SYSTEM_SCHEMAS]


def table_names(connection: Connection) -> list[str]:
    """Every ``[schema.]table`` the connection's user can see (system schemas left out)."""
    inspector = inspect(connection)
    default = inspector.default_schema_name
    names: list[str] = []
    for schema in user_schemas(connection):
        tables = inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
        prefix = "" if schema == default else f"{schema}."
        names.extend(f"{prefix}{t}" for t in sorted(tables))
    return names


def find_table(connection: Connection, raw: str) -> TableName:
    """The table ``raw`` names, if the catalogue lists it; 422 ``table_not_found`` if not."""
    inspector = inspect(connection)
    schema, _, name = raw.rpartition(".")
    candidate = TableName(schema or None, name)
    schemas = inspector.get_schema_names()
    if candidate.schema is not None and candidate.schema not in schemas:
        raise _table_not_found(raw)
    listed = inspector.get_table_names(schema=candidate.schema) + inspector.get_view_names(
        schema=candidate.schema
    )
    if candidate.name not in listed:
        raise _table_not_found(raw)
    return candidate


def table_exists(connection: Connection, name: TableName) -> bool:
    return inspect(connection).has_table(name.name, schema=name.schema)


def _table_not_found(raw: str) -> InvalidInput:
    return InvalidInput(
        f"table {raw!r} is not in the source's catalogue",
        code="table_not_found",
        details={"table": raw},
    )


def reflect(connection: Connection, name: TableName) -> Table:
    return Table(name.name, MetaData(), schema=name.schema, autoload_with=connection)


def _column(table: Table, column: str, raw: str) -> ColumnElement[object]:
    if column not in table.c:
        raise InvalidInput(
            f"column {column!r} is not a column of table {raw!r}",
            code="column_not_found",
            details={"table": raw, "column": column, "columns": list(table.c.keys())[:100]},
        )
    return table.c[column]


def table_select(
    connection: Connection, spec: SourceInput, *, require_target: bool
) -> Select[tuple[object, ...]]:
    """The SELECT that reads ``spec``'s rows with the features under their own names.

    A feature's column is its mapped name, else the column of the feature's own
    name; the price is read only for training (``require_target``). The primary
    key comes along (under its name) so predictions can be joined back to the
    rows, and orders the rows so that the same rows read the same way every
    time (the training fingerprint depends on it).
    """
    assert spec.table is not None
    name = find_table(connection, spec.table)
    table = reflect(connection, name)
    mapping = dict(spec.columns or {})
    wanted = [*FEATURES, TARGET]
    unknown = sorted(set(mapping) - set(wanted))
    if unknown:
        raise InvalidInput(
            f"columns maps {', '.join(unknown)}, which are not features; "
            f"map any of {', '.join(wanted)}",
            code="invalid_column_mapping",
            details={"unknown": unknown},
        )
    selected: list[ColumnElement[object]] = []
    missing: list[str] = []
    for feature in wanted if require_target else FEATURES:  # predicting needs no price
        column = mapping.get(feature, feature)
        if feature in mapping:
            selected.append(_column(table, column, spec.table).label(feature))
        elif column in table.c:
            selected.append(table.c[column].label(feature))
        else:
            missing.append(feature)
    if missing:
        raise InvalidInput(
            f"table {spec.table!r} has no column for {', '.join(missing)}; "
            "name them in columns: {feature: column}",
            code="missing_columns",
            details={"missing_columns": missing, "columns": list(table.c.keys())[:100]},
        )
    keys = [c for c in table.primary_key.columns if c.name not in [s.name for s in selected]]
    statement = select(*keys, *selected)
    for column, value in (spec.where or {}).items():
        statement = statement.where(_column(table, column, spec.table) == value)
    order: list[ColumnElement[object]] = [*table.primary_key.columns] or selected
    return statement.order_by(*order)


def query_columns(connection: Connection, query: str) -> list[str]:
    """The columns an admin's query answers, found by running it for no rows."""
    result = connection.execute(text(f"SELECT * FROM ({query}) AS q LIMIT 0"))  # noqa: S608
    return list(result.keys())
