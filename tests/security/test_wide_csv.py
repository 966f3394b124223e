"""Issue 12, item 8: a wide CSV is refused from its header, fast, with a small answer."""

from __future__ import annotations

import io
import json
import time
import tracemalloc

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.datasets.csv_header import MAX_COLUMNS, MAX_HEADER_BYTES
from api.datasets.reading import iter_text_chunks
from api.db.tables.dataset import Dataset
from api.errors import InvalidInput
from api.ml.synth import generate

MiB = 1024 * 1024


def _upload(client: TestClient, headers: dict[str, str], data: bytes) -> tuple[int, bytes, float]:
    started = time.monotonic()
    response = client.post(
        "/v1/datasets", files={"file": ("wide.csv", data, "text/csv")}, headers=headers
    )
    return response.status_code, response.content, time.monotonic() - started


def _datasets(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Dataset)) or 0


def test_500000_column_csv_answers_422_fast_with_a_small_body_and_stores_nothing(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    header = ",".join(f"c{i}" for i in range(500_000)).encode()
    data = header + b"\n" + b",".join([b"1"] * 500_000) + b"\n"
    assert len(data) > 4 * MiB
    tracemalloc.start()
    try:
        status, body, seconds = _upload(client, member_headers, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 422, body[:300]
    assert b"header line is longer than" in body
    assert seconds < 2.0, f"took {seconds:.1f} s"
    assert len(body) < 1024, f"a {len(body)}-byte answer"
    # The attack cost +560 MB; now little beyond the test client's own copies of the body.
    assert peak < 40 * MiB, f"peak allocation {peak / MiB:.0f} MiB"
    assert _datasets(db_session) == 0


def test_a_header_with_more_than_256_columns_is_refused_naming_the_limit(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    header = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)).encode()
    assert len(header) < MAX_HEADER_BYTES  # short in bytes: refused for its width alone
    status, body, _ = _upload(client, member_headers, header + b"\n")
    assert status == 422
    assert b"the header has 257 columns; a file may have at most 256" in body
    assert _datasets(db_session) == 0


def test_256_columns_with_the_required_ones_are_accepted(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    frame = generate(20, seed=3)
    extra = {f"extra_{i}": [i] * len(frame) for i in range(MAX_COLUMNS - len(frame.columns))}
    frame = pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1)
    data = frame.to_csv(index=False).encode()
    status, body, _ = _upload(client, member_headers, data)
    assert status == 201, body[:300]


def test_a_missing_column_error_lists_at_most_100_columns_and_the_count(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    header = ",".join(f"c{i}" for i in range(200)).encode()
    status, body, _ = _upload(client, member_headers, header + b"\n" + b",".join([b"1"] * 200))
    assert status == 422
    details = json.loads(body)["error"]["details"]
    assert len(details["columns"]) == 100
    assert details["column_count"] == 200
    assert "type" in details["missing_columns"]


def test_row_problems_are_capped_at_100_plus_the_total(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    frame = generate(500, seed=4)
    frame["net_area"] = -1.0  # every row wrong
    status, body, _ = _upload(client, member_headers, frame.to_csv(index=False).encode())
    assert status == 422
    details = json.loads(body)["error"]["details"]
    assert len(details["problems"]) == 100
    assert details["total"] == 500
    assert _datasets(db_session) == 0


def test_batch_inference_reader_refuses_a_wide_header_before_pandas() -> None:
    """Batch jobs and the offline CLI read through the same header check."""
    wide = io.BytesIO(b",".join([b"x"] * 300_000) + b"\n1\n")
    started = time.monotonic()
    with pytest.raises(InvalidInput, match="header line is longer than"):
        next(iter_text_chunks(wide))
    assert time.monotonic() - started < 0.5
    # Only the bounded head was read.
    assert wide.tell() <= MAX_HEADER_BYTES + 1
