"""The header of a client CSV, checked before pandas sees the file.

A header of half a million columns costs pandas seconds and hundreds of
megabytes to parse, and a missing-column error would then list every column.
Reading at most ``MAX_HEADER_BYTES`` ahead and counting the columns with the
``csv`` module bounds both before any parsing starts.
"""

from __future__ import annotations

import csv
import io
from typing import IO, Any

import numpy as np

from api.errors import InvalidInput

MAX_COLUMNS = 256
MAX_HEADER_BYTES = 32 * 1024  # room for MAX_COLUMNS names of 128 bytes

_NEWLINE, _QUOTE = 10, 34


def record_ends(text: bytes) -> np.ndarray:
    """Offsets of the newlines that end a CSV record (not those inside quotes).

    ``text`` must start outside quotes. A newline ends a record when an even number
    of quote characters precede it (an escaped quote is doubled, so counts two);
    a uint8 running sum keeps that parity without a wide temporary array.
    """
    array = np.frombuffer(text, dtype=np.uint8)
    ends = np.flatnonzero(array == _NEWLINE)
    if ends.size and text.find(b'"') >= 0:
        ends = ends[(np.cumsum(array == _QUOTE, dtype=np.uint8)[ends] & 1) == 0]
    return ends


class _Replay(io.RawIOBase):
    """``head`` (bytes already read from ``rest``) followed by the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self.head = memoryview(head)
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _header_end(head: bytes) -> int | None:
    """Offset just past the first record that is not blank, if ``head`` holds all of it."""
    start = 0
    for end in record_ends(head):
        if head[start:end].strip():
            return int(end) + 1
        start = int(end) + 1
    return None


def checked_header(stream: IO[bytes]) -> IO[bytes]:
    """``stream`` unchanged, once its header is known to be short and at most 256 columns.

    Reads at most ``MAX_HEADER_BYTES`` (plus one read) ahead; raises ``InvalidInput``
    naming the limit otherwise.
    """
    head = b""
    end = None
    while end is None and len(head) <= MAX_HEADER_BYTES:
        data = stream.read(MAX_HEADER_BYTES + 1 - len(head))
        if not data:
            end = len(head)  # no newline: the whole (short) file is the header
            break
        head += data
        end = _header_end(head)
    if end is None:
        raise InvalidInput(
            f"the header line is longer than {MAX_HEADER_BYTES} bytes; "
            f"a file may have at most {MAX_COLUMNS} columns",
            details={"max_header_bytes": MAX_HEADER_BYTES, "max_columns": MAX_COLUMNS},
        )
    header = head[:end].decode("utf-8", "replace").strip()
    try:
        count = len(next(csv.reader([header]), []))
    except csv.Error:
        count = 0  # not CSV: pandas says so in its own words
    if count > MAX_COLUMNS:
        raise InvalidInput(
            f"the header has {count} columns; a file may have at most {MAX_COLUMNS}",
            details={"columns": count, "max_columns": MAX_COLUMNS},
        )
    return _Replay(head, stream)  # type: ignore[return-value]
