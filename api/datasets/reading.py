"""Reading client CSVs in chunks, validating each, without holding the file.

Shared by dataset uploads (validate everything, keep nothing) and batch
inference (predict the valid rows of each chunk, report the others). A CSV whose
header lacks a required column, or that is not CSV at all, is refused before any
row is read; its size and width are checked before pandas sees the file
(``csv_header``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import pandas as pd

from api.datasets.csv_header import checked_header, record_ends
from api.errors import InvalidInput
from api.ml.validation import Problem, missing_columns, validate_frame

SHOWN_COLUMNS = 100  # column names echoed in an error's details


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
    stream = checked_header(stream)
    try:
        return pd.read_csv(stream, chunksize=chunk_rows, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise InvalidInput("the file is empty: no CSV header found") from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the file is not a readable CSV: {exc}") from exc


def _validated(raw: pd.DataFrame, first_row: int, *, require_target: bool) -> Chunk:
    absent = missing_columns(raw.columns, require_target=require_target)
    if absent:
        raise InvalidInput(
            f"missing column(s): {', '.join(absent)}",
            details={
                "missing_columns": absent,
                "columns": [str(c) for c in raw.columns[:SHOWN_COLUMNS]],
                "column_count": len(raw.columns),
            },
        )
    result = validate_frame(raw, require_target=require_target, row_offset=first_row - 1)
    return Chunk(raw, result.frame, list(result.problems), first_row)


def iter_chunks(
    stream: IO[bytes], *, require_target: bool, chunk_rows: int = 100_000
) -> Iterator[Chunk]:
    """Validated chunks of a CSV stream; raises ``InvalidInput`` for a bad header."""
    reader = _reader(stream, chunk_rows)
    first_row = 1
    with reader:
        try:
            for raw in reader:
                yield _validated(raw, first_row, require_target=require_target)
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


# ------------------------------------------------------------- chunks with their record text


@dataclass
class TextChunk:
    """A validated chunk plus its bytes, and where each row's record lies in them.

    ``spans`` (starts, ends) is None when records cannot be matched one to one
    with rows, or when echoing them would not reproduce the parsed values (blank
    lines skipped, carriage returns, spaces that ``skipinitialspace`` dropped).
    """

    chunk: Chunk
    text: bytes
    spans: tuple[np.ndarray, np.ndarray] | None


class _RecordReader:
    """Cuts a byte stream into runs of whole CSV records, reading ahead as needed."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.pending = b""
        self.eof = False
        self.bytes_per_row = 128  # a guess until the first chunk shows the real size

    @property
    def done(self) -> bool:
        return self.eof and not self.pending

    def take(self, records: int) -> tuple[bytes, np.ndarray]:
        """Up to ``records`` whole records (fewer only at the end) and their end offsets."""
        parts, size = [self.pending], len(self.pending)
        target = self.bytes_per_row * records
        while not self.eof:
            if size >= target:
                joined = b"".join(parts)
                if record_ends(joined).size >= records:
                    break
                parts, target = [joined], size * 2
            data = self.stream.read(max(target - size, 1 << 16))
            if not data:
                self.eof = True
            parts.append(data)
            size += len(data)
        text = b"".join(parts)
        if self.eof and text and not text.endswith(b"\n"):
            text += b"\n"  # the last record may lack its newline
        ends = record_ends(text)
        cut = int(ends[records - 1]) + 1 if ends.size >= records else len(text)
        self.pending = text[cut:]
        ends = ends[:records]
        if ends.size:
            self.bytes_per_row = max(16, cut // int(ends.size) + 1)
        return text[:cut], ends

    def header(self) -> bytes:
        """The first record that is not blank, as the parser chooses it."""
        while True:
            text, _ = self.take(1)
            if text.strip() or self.done:
                return text


def _spans(text: bytes, ends: np.ndarray, rows: int) -> tuple[np.ndarray, np.ndarray] | None:
    if b"\r" in text or b", " in text or b"\n " in text or text.startswith(b" "):
        return None
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    keep = ends > starts  # empty lines: the parser skips them
    if int(keep.sum()) != rows:
        return None
    return starts[keep], ends[keep]


def iter_text_chunks(
    stream: IO[bytes], *, chunk_rows: int = 100_000, first_row: int = 1
) -> Iterator[TextChunk]:
    """``iter_chunks(require_target=False)`` that also gives each chunk's record bytes.

    Batch inference echoes valid records as they came rather than formatting the
    parsed values again (most of the cost of ``DataFrame.to_csv``). The stream is
    cut at record boundaries every ``chunk_rows`` records; each run is parsed on
    its own with the header in front, so parsing and validation are unchanged.
    ``first_row`` numbers the stream's first data row (a partition of a file
    numbers its rows as the whole file does).
    """
    reader = _RecordReader(checked_header(stream))
    header = reader.header()
    try:
        while True:
            text, ends = reader.take(chunk_rows)
            try:
                raw = pd.read_csv(io.BytesIO(header + text), skipinitialspace=True)
            except pd.errors.EmptyDataError as exc:
                raise InvalidInput("the file is empty: no CSV header found") from exc
            chunk = _validated(raw, first_row, require_target=False)
            yield TextChunk(chunk, text, _spans(text, ends, len(raw)))
            first_row += len(raw)
            if reader.done:
                return
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the file is not a readable CSV near row {first_row}: {exc}") from exc
