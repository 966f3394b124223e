"""Cutting a CSV into runs of whole records, and fingerprinting it, in one pass.

A partitioned batch job needs byte offsets where each partition starts: every
``rows`` data records, never inside a quoted field (a quoted value may hold a
newline). The scan streams the object a block at a time, finds record ends with
the same quote-parity rule the readers use (``record_ends``), and hashes the
bytes as they pass, so the job's input fingerprint costs no second read.

Blank lines are not data rows (the CSV parser skips them), so they are not
counted: partition ``k`` then starts at data row ``k * rows + 1`` exactly, and
the errors of every partition carry the row numbers of an unsplit run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import IO

import numpy as np

from api.datasets.csv_header import record_ends

BLOCK_BYTES = 4 * 1024 * 1024
_CR = 13


@dataclass
class Split:
    """Where the header ends and each partition starts (byte offsets)."""

    header_end: int = 0  # offset just past the header record; 0 for an empty file
    starts: list[int] = field(default_factory=list)  # one per partition, ascending
    size: int = 0
    rows: int = 0  # data records (blank lines excluded)
    sha256: str = ""

    def ranges(self) -> list[tuple[int, int]]:
        """(start, end) of each partition; the first one starts at 0, with the header."""
        ends = [*self.starts[1:], self.size]
        pairs = zip(self.starts, ends, strict=True)
        return [(0 if i == 0 else s, e) for i, (s, e) in enumerate(pairs)]


class _Scanner:
    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.split = Split()
        self.offset = 0  # of the first byte of the current block in the file
        self.line_start = 0  # offset where the current record began
        self.in_quotes = False
        self.header_seen = False
        self.since_cut = 0  # data records since the last partition start
        self.last_byte = -1  # the previous block's last byte

    def feed(self, block: bytes) -> None:
        # Whole arrays per block: a Python call per record would cost seconds on
        # millions of rows, serial time before any partition starts.
        shift = 1 if self.in_quotes else 0
        text = b'"' + block if self.in_quotes else block
        ends = record_ends(text).astype(np.int64) - shift + self.offset
        if ends.size:
            starts = np.empty_like(ends)
            starts[0] = self.line_start
            starts[1:] = ends[:-1] + 1
            keep = self._not_blank(starts, ends - starts, np.frombuffer(text, np.uint8), shift)
            self._data(starts[keep], ends[keep] + 1)
            self.line_start = int(ends[-1]) + 1
        if block.count(b'"') & 1:
            self.in_quotes = not self.in_quotes
        self.offset += len(block)
        self.last_byte = block[-1]

    def _not_blank(
        self, starts: np.ndarray, lengths: np.ndarray, array: np.ndarray, shift: int
    ) -> np.ndarray:
        """Mask of the records that are not blank lines ("" or a lone CR)."""
        keep: np.ndarray = lengths != 0
        single = np.flatnonzero(lengths == 1)
        if single.size:
            local = starts[single] - self.offset + shift
            inside = local >= shift  # the byte is in this block, not the previous one
            first = np.full(single.size, self.last_byte, dtype=np.int64)
            first[inside] = array[local[inside]]
            keep[single[first == _CR]] = False
        return keep

    def _data(self, starts: np.ndarray, ends: np.ndarray) -> None:
        """Data records ``[starts[i], ends[i])``; the first one of the file is the header."""
        if not self.header_seen and starts.size:
            self.header_seen = True
            self.split.header_end = int(ends[0])
            starts = starts[1:]
        count = int(starts.size)
        if not count:
            return
        first = (-self.since_cut) % self.rows  # index of the next record that opens a partition
        self.split.starts.extend(int(s) for s in starts[first :: self.rows])
        self.since_cut = (self.since_cut + count) % self.rows
        self.split.rows += count

    def finish(self) -> Split:
        if self.line_start < self.offset:  # the last record lacks its newline
            self._data(np.array([self.line_start]), np.array([self.offset]))
        self.split.size = self.offset
        if not self.split.starts:
            self.split.starts.append(self.split.header_end)
        return self.split


def split_csv(stream: IO[bytes], rows: int, block_bytes: int = BLOCK_BYTES) -> Split:
    """Cut points every ``rows`` data records of ``stream``, with its size and sha256."""
    if rows < 1:
        raise ValueError("rows must be positive")
    scanner = _Scanner(rows)
    digest = hashlib.sha256()
    while block := stream.read(block_bytes):
        digest.update(block)
        scanner.feed(block)
    split = scanner.finish()
    split.sha256 = digest.hexdigest()
    return split
