"""Cutting a CSV into partitions of whole records, and fingerprinting it in the same pass."""

from __future__ import annotations

import hashlib
import io

import pytest

from api.jobs.execution.splitting import split_csv

HEADER = b"type,sector,net_usable_area\n"


def records(n: int, newline: bytes = b"\n") -> list[bytes]:
    return [f"casa,sector {i},{i}".encode() + newline for i in range(n)]


def pieces(data: bytes, rows: int, block: int) -> list[bytes]:
    split = split_csv(io.BytesIO(data), rows, block_bytes=block)
    return [data[s:e] for s, e in split.ranges()]


@pytest.mark.parametrize("block", [1, 7, 64, 1 << 20])
def test_partitions_hold_the_requested_number_of_records_whatever_the_read_size(
    block: int,
) -> None:
    data = HEADER + b"".join(records(10))
    split = split_csv(io.BytesIO(data), 3, block_bytes=block)
    assert split.rows == 10
    assert split.header_end == len(HEADER)
    assert len(split.starts) == 4  # 3 + 3 + 3 + 1
    parts = [data[s:e] for s, e in split.ranges()]
    assert b"".join(parts) == data  # nothing lost, nothing twice
    assert parts[0] == HEADER + b"".join(records(10)[:3])
    assert parts[3] == records(10)[9]
    assert split.sha256 == hashlib.sha256(data).hexdigest()
    assert split.size == len(data)


@pytest.mark.parametrize("block", [1, 5, 1 << 20])
def test_a_newline_inside_quotes_never_cuts_a_record(block: int) -> None:
    rows = [b'casa,"two\nlines",1\n', b'casa,"with ""quotes""\n and more",2\n', b"casa,plain,3\n"]
    data = HEADER + b"".join(rows * 2)
    parts = pieces(data, 1, block)
    assert parts == [HEADER + rows[0], rows[1], rows[2], rows[0], rows[1], rows[2]]


def test_crlf_records_and_blank_lines() -> None:
    data = b"a,b\r\n" + b"1,2\r\n" + b"\r\n" + b"3,4\r\n" + b"\n" + b"5,6\r\n"
    split = split_csv(io.BytesIO(data), 2, block_bytes=3)
    assert split.rows == 3  # blank lines are not data rows
    assert [data[s:e] for s, e in split.ranges()] == [
        b"a,b\r\n1,2\r\n\r\n3,4\r\n\n",
        b"5,6\r\n",
    ]


def test_a_last_record_without_newline_is_counted() -> None:
    data = HEADER + b"casa,a,1\ncasa,b,2"
    split = split_csv(io.BytesIO(data), 1)
    assert split.rows == 2
    assert [data[s:e] for s, e in split.ranges()] == [HEADER + b"casa,a,1\n", b"casa,b,2"]


def test_an_input_of_fewer_rows_than_a_partition_is_one_partition() -> None:
    data = HEADER + b"".join(records(5))
    assert len(split_csv(io.BytesIO(data), 200_000).starts) == 1
    assert split_csv(io.BytesIO(HEADER), 10).ranges() == [(0, len(HEADER))]
