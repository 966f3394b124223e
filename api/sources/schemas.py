"""Request and response bodies of the data-sources API, and the shapes jobs take
to read from or write to a source (see docs/api.md, Data sources)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SourceName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
TableName = Annotated[str, Field(min_length=1, max_length=255)]
Scalar = str | int | float | bool | None


def _fits_int64(value: int) -> bool:
    return -(2**63) <= value < 2**63


class DataSourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: SourceName
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="SQLAlchemy URL, e.g. `postgresql+psycopg://user:password@host:5432/db` "
        "or `sqlite:////path/to/file.db`; the password is sealed at rest and never shown",
    )
    writable: bool = Field(default=False, description="whether batch jobs may create tables")
    description: str | None = Field(default=None, max_length=1000)


class DataSourceOut(BaseModel):
    name: str
    dialect: str
    host: str | None
    database: str | None
    writable: bool
    description: str | None
    created_at: datetime
    url: str | None = Field(
        default=None, description="the URL with its password masked; admins only"
    )


class SourceCheckOut(BaseModel):
    ok: bool = Field(description="true: the source answered")
    name: str
    tables: list[str] = Field(description="`[schema.]table` names the source's user can see")


class SourceInput(BaseModel):
    """Rows from a registered source: a table (anyone who may submit) or a query (admins)."""

    model_config = ConfigDict(extra="forbid")

    source: SourceName
    table: TableName | None = Field(default=None, description="`[schema.]table`")
    query: str | None = Field(
        default=None, max_length=100_000, description="a SELECT (admins only)"
    )
    columns: dict[str, Annotated[str, Field(max_length=255)]] | None = Field(
        default=None,
        max_length=20,
        description="feature -> column, for columns named differently from the features",
    )
    where: dict[str, Scalar] | None = Field(
        default=None, max_length=20, description="column -> value: keep rows equal to all"
    )

    @model_validator(mode="after")
    def _table_or_query(self) -> Self:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        if self.query is not None and (self.columns or self.where):
            raise ValueError("columns and where go with table; a query selects its own")
        for column, value in (self.where or {}).items():
            # Past 64 bits no SQL integer column holds it, and SQLite fails on binding it.
            if isinstance(value, int) and not isinstance(value, bool) and not _fits_int64(value):
                raise ValueError(f"where[{column!r}]: {value} is outside the 64-bit integer range")
        return self


class SourceOutput(BaseModel):
    """A new table on a writable source, created when the job succeeds."""

    model_config = ConfigDict(extra="forbid")

    source: SourceName
    table: Annotated[
        str, Field(pattern=r"^([A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,40}$")
    ]
