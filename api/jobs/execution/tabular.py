"""Where a job's rows come from: an object-store CSV or a table (or query) of a source.

Both arrive as a CSV byte stream (a source's rows as their canonical CSV,
``api.sources.rows``), so the training and batch jobs read, validate, predict
and fingerprint them with the same code. :func:`open_input` also says what the
rows were, for the lineage a model records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from api.config import get_settings
from api.db.session import session_scope
from api.ownership import Location
from api.sources import service as sources_service
from api.sources.rows import open_rows
from api.sources.schemas import SourceInput
from api.storage import get_store


@dataclass(frozen=True)
class Opened:
    stream: IO[bytes]
    lineage: dict[str, Any]  # {"uri"} or {"source", "table" | "query"}
    label: str  # how messages name the input
    rows: int | None = None  # rows to read, when known before reading (a source's)
    # Rows per chunk this input is best read in (a source's rows arrive in partitions
    # of TASADOR_SOURCE_CHUNK_ROWS; chunks no larger keep a job's memory flat).
    chunk_rows: int | None = None


def source_input(location: Mapping[str, Any]) -> SourceInput:
    return SourceInput.model_validate(dict(location))


def describe(location: Location) -> str:
    if isinstance(location, str):
        return location
    spec = source_input(location)
    return f"source {spec.source}, " + (f"table {spec.table}" if spec.table else "query")


@contextmanager
def open_input(location: Location, *, require_target: bool) -> Iterator[Opened]:
    """The rows of ``location`` as a CSV byte stream, open while the block runs."""
    if isinstance(location, str):
        with get_store().open_read(location) as stream:
            yield Opened(stream, {"uri": location}, location)
        return
    spec = source_input(location)
    with session_scope() as session:
        target = sources_service.target(session, spec.source)
    lineage: dict[str, Any] = {"uri": None, "source": spec.source}
    if spec.table is not None:
        lineage["table"] = spec.table
        if spec.columns:
            lineage["columns"] = dict(spec.columns)
        if spec.where:
            lineage["where"] = dict(spec.where)
    else:
        lineage["query"] = spec.query
    with open_rows(target, spec, require_target=require_target) as stream:
        chunk_rows = get_settings().source_chunk_rows
        yield Opened(stream, lineage, describe(location), stream.rows, chunk_rows)  # type: ignore[arg-type]
