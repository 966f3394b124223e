"""Reading client CSVs in chunks, validating each, without holding the file.

Shared by dataset uploads (validate everything, keep nothing) and batch
inference (predict the valid rows of each chunk, report the others). A CSV whose
header lacks a required column, or that is not CSV at all, is refused before any
row is read.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import pandas as pd

from api.errors import InvalidInput
from api.ml.validation import Problem, missing_columns, validate_frame


@dataclass
class Chunk:
    raw: pd.DataFrame
    valid: pd.DataFrame
    problems: list[Problem]
    first_row: int  # 1-based number of the chunk's first data row in the file


@dataclass
class CsvSummary:
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0


class HashingReader(io.RawIOBase):
    """Passes a binary stream through, hashing and counting what is read."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.size += n
        return n


def _reader(stream: IO[bytes], chunk_rows: int) -> Any:
    try:
        return pd.read_csv(stream, chunksize=chunk_rows, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput("the file is empty: no CSV header found") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the file is not a readable CSV: {exc}") from exc


def iter_chunks(
    stream: IO[bytes], *, require_target: bool, chunk_rows: int = 100_000
) -> Iterator[Chunk]:
    """Validated chunks of a CSV stream; raises ``InvalidInput`` for a bad header."""
    reader = _reader(stream, chunk_rows)
    first_row = 1
    with reader:
        try:
            for raw in reader:
                absent = missing_columns(raw.columns, require_target=require_target)
                if absent:
                    raise InvalidInput(
                        f"missing column(s): {', '.join(absent)}",
                        details={"missing_columns": absent, "columns": list(raw.columns)},
                    )
                result = validate_frame(
                    raw, require_target=require_target, row_offset=first_row - 1
                )
                yield Chunk(raw, result.frame, list(result.problems), first_row)
                first_row += len(raw)
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise InvalidInput(
                f"the file is not a readable CSV near row {first_row}: {exc}"
            ) from exc


def summarise(
    stream: IO[bytes], *, require_target: bool, keep_problems: int = 100, chunk_rows: int = 100_000
) -> CsvSummary:
    """Validate a whole CSV; keep the first ``keep_problems`` problems and the total."""
    summary = CsvSummary()
    for chunk in iter_chunks(stream, require_target=require_target, chunk_rows=chunk_rows):
        if not summary.columns:
            summary.columns = [str(c) for c in chunk.raw.columns]
        summary.rows += len(chunk.raw)
        summary.problem_count += len(chunk.problems)
        room = keep_problems - len(summary.problems)
        if room > 0:
            summary.problems.extend(chunk.problems[:room])
    return summary


def problems_as_details(summary: CsvSummary) -> dict[str, Any]:
    return {
        "problems": [
            {"row": p.row, "column": p.column, "reason": p.reason} for p in summary.problems
        ],
        "total": summary.problem_count,
    }
