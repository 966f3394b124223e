"""Issue 12, item 4: no body is read past its limit, and none before authentication.

Replays of the attack (an anonymous 300 MB body; an upload over the limit) run
against a real API process, whose memory, temporary folder and store are
checked afterwards; the route-by-route refusal runs in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session
from starlette.requests import Request

from api.auth.tokens import issue_access_token
from api.datasets import upload as upload_module
from api.db.session import session_scope
from api.db.tables.dataset import Dataset
from api.db.tables.job import Job
from api.errors import PayloadTooLarge
from api.limits import MAX_BODY_BYTES, UPLOAD_ROUTES
from api.main import create_app
from api.users.service import create_user
from tests.fixtures.db import TEST_PASSWORD, hashed_test_password
from tests.security.conftest import UPLOAD_LIMIT, LiveApi
from tests.security.server import stream_body

MiB = 1024 * 1024
BOUNDARY = "tasador-test-boundary"
CSV_HEADER = b"type,sector,net_usable_area,net_area,n_rooms,n_bathroom,latitude,longitude,price\n"
CSV_ROW = b"casa,nunoa,120,150,3,2,-33.45,-70.6,9000\n"
ROWS_64K = CSV_ROW * (64 * 1024 // len(CSV_ROW))


def _routes() -> list[tuple[str, str]]:
    """Every (method, path) the app serves, path parameters filled in."""
    found = []
    for route in create_app().routes:
        methods = getattr(route, "methods", None) or {"GET"}
        path = re.sub(r"\{[^}]+\}", "1", getattr(route, "path", "/"))
        for method in sorted(methods - {"HEAD", "OPTIONS"}):
            if (method, path) not in UPLOAD_ROUTES:
                found.append((method, path))
    return found


@pytest.mark.parametrize(("method", "path"), [*_routes(), ("POST", "/no/such/route")])
def test_every_route_answers_413_to_a_body_over_1_mib_with_or_without_credentials(
    client: TestClient, member_headers: dict[str, str], method: str, path: str
) -> None:
    body = b"[" + b" " * MAX_BODY_BYTES + b"]"
    for headers in ({}, member_headers):
        response = client.request(
            method, path, content=body, headers={**headers, "Content-Type": "application/json"}
        )
        assert response.status_code == 413, (method, path, response.text[:200])
        assert response.json()["error"]["code"] == "payload_too_large"
        assert response.headers["connection"] == "close"


def test_api_routes_are_all_covered() -> None:
    """The table above comes from the app: every API route is in it."""
    paths = {path for _, path in _routes()}
    for route in create_app().routes:
        if isinstance(route, APIRoute) and (route.path not in {p for _, p in UPLOAD_ROUTES}):
            assert re.sub(r"\{[^}]+\}", "1", route.path) in paths


def test_an_oversized_job_submit_with_credentials_creates_no_job(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    before = db_session.scalar(select(func.count()).select_from(Job))
    padding = "x" * MAX_BODY_BYTES
    response = client.post(
        "/v1/jobs/training",
        json={"train_data": "s3://tasador/x.csv", "padding": padding},
        headers=member_headers,
    )
    assert response.status_code == 413
    assert db_session.scalar(select(func.count()).select_from(Job)) == before


def test_a_body_just_under_the_limit_is_still_read(
    client: TestClient, member_headers: dict[str, str]
) -> None:
    body = json.dumps({"instances": [], "padding": "x" * (MAX_BODY_BYTES - 100)})
    response = client.post("/v1/predictions", content=body, headers=member_headers)
    assert response.status_code == 422  # parsed and validated, not refused for its size


# -------------------------------------------------------- a real process: memory and reads


def _warm(live_api: LiveApi, path: str) -> None:
    stream_body(live_api.port, path, total_bytes=10, chunk=b"{}" * 5)


def test_anonymous_300_mb_json_body_is_refused_at_once_without_memory_growth(
    live_api: LiveApi,
) -> None:
    _warm(live_api, "/v1/jobs/training")
    before = live_api.process.rss_bytes()
    result = stream_body(
        live_api.port,
        "/v1/jobs/training",
        total_bytes=300 * 1000 * 1000,
        chunk=b" " * MiB,
        headers={"Content-Type": "application/json"},
    )
    growth = live_api.process.rss_bytes() - before
    assert result.status == 413, result.body[:300]
    assert json.loads(result.body)["error"]["code"] == "payload_too_large"
    assert result.seconds < 5
    assert result.sent_bytes < 32 * MiB, "the server went on reading the body"
    assert growth < 25 * MiB, f"server memory grew by {growth / MiB:.0f} MiB"


def test_anonymous_chunked_300_mb_body_is_cut_off_after_the_limit(live_api: LiveApi) -> None:
    _warm(live_api, "/v1/jobs/training")
    before = live_api.process.rss_bytes()
    result = stream_body(
        live_api.port,
        "/v1/jobs/training",
        total_bytes=300 * 1000 * 1000,
        chunk=b" " * (64 * 1024),
        headers={"Content-Type": "application/json"},
        chunked=True,
    )
    growth = live_api.process.rss_bytes() - before
    # The server reads just past 1 MiB, answers and closes; socket buffers on
    # both sides hold what the client could push meanwhile.
    assert result.status in (413, None), result.body[:300]
    if result.status == 413:
        assert json.loads(result.body)["error"]["code"] == "payload_too_large"
    assert result.seconds < 10
    assert result.sent_bytes < 32 * MiB, "the server went on reading the body"
    assert growth < 25 * MiB, f"server memory grew by {growth / MiB:.0f} MiB"


# ------------------------------------------------------------------------ uploads


def _upload_prefix(filename: str = "homes.csv") -> bytes:
    return (
        f"--{BOUNDARY}\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode() + CSV_HEADER


class SpoolWatch:
    """The largest upload file seen in a process's temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.largest = 0

    def files(self) -> list[Path]:
        return list(self.folder.glob("tasador-upload-*"))

    def sample(self) -> None:
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                self.largest = max(self.largest, path.stat().st_size)

    def wait_until_empty(self, seconds: float = 5.0) -> list[Path]:
        deadline = time.monotonic() + seconds
        while self.files() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.files()


@pytest.fixture
def member_token(committed_db: Engine) -> Iterator[str]:
    with session_scope() as session:
        user = create_user(
            session, "uploader", TEST_PASSWORD, "member", password_hash=hashed_test_password()
        )
    yield issue_access_token(user.id, user.role).token


def _stored_datasets(live_api: LiveApi, engine: Engine) -> tuple[int, list[Path]]:
    with engine.connect() as connection:
        rows = connection.scalar(text("SELECT count(*) FROM datasets")) or 0
    return rows, [p for p in live_api.data_dir.rglob("*") if p.is_file() and "datasets" in p.parts]


def test_upload_over_the_limit_stops_at_the_limit_and_stores_nothing(
    live_api: LiveApi, member_token: str, committed_db: Engine
) -> None:
    watch = SpoolWatch(live_api.spool)
    result = stream_body(
        live_api.port,
        "/v1/datasets",
        total_bytes=40 * MiB,
        prefix=_upload_prefix(),
        chunk=ROWS_64K,
        headers={
            "Authorization": f"Bearer {member_token}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        chunked=True,
        between_chunks=watch.sample,
    )
    assert result.status == 413, result.body[:300]
    error = json.loads(result.body)["error"]
    assert error["code"] == "payload_too_large"
    assert str(UPLOAD_LIMIT) in error["message"]
    assert 0 < watch.largest <= UPLOAD_LIMIT + 64 * 1024, watch.largest
    assert result.sent_bytes < 20 * MiB, "the server went on reading the upload"
    assert watch.wait_until_empty() == [], "the partial upload was left on disk"
    assert _stored_datasets(live_api, committed_db) == (0, [])


@pytest.mark.parametrize("chunked", [False, True], ids=["declared-length", "chunked"])
def test_anonymous_300_mb_upload_writes_nothing_to_disk(
    live_api: LiveApi, committed_db: Engine, chunked: bool
) -> None:
    watch = SpoolWatch(live_api.spool)
    result = stream_body(
        live_api.port,
        "/v1/datasets",
        total_bytes=300 * 1000 * 1000,
        prefix=_upload_prefix(),
        chunk=ROWS_64K,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        chunked=chunked,
        between_chunks=watch.sample,
    )
    # Over the limit by its declared length (413), or refused for want of
    # credentials before the body is read (401).
    assert result.status == (401 if chunked else 413), result.body[:300]
    assert watch.largest == 0
    assert result.sent_bytes < 32 * MiB
    assert _stored_datasets(live_api, committed_db) == (0, [])


# ---------------------------------------------- the upload parser itself, in-process


class CountingSink(io.BytesIO):
    """Stands in for the temporary file: keeps what is written and whether it was closed."""

    def __init__(self, *_: Any, **__: Any) -> None:
        super().__init__()
        self.was_closed = False

    def close(self) -> None:
        self.was_closed = True
        self.written = self.getbuffer().nbytes
        super().close()


def _request(pieces: list[bytes], pulled: list[int]) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/datasets",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    queue = iter(pieces)

    async def receive() -> dict[str, Any]:
        piece = next(queue, None)
        pulled.append(len(piece or b""))
        return {"type": "http.request", "body": piece or b"", "more_body": piece is not None}

    return Request(scope, receive)


def test_upload_parser_writes_no_byte_past_the_limit_and_stops_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sinks: list[CountingSink] = []

    def sink(*args: Any, **kwargs: Any) -> CountingSink:
        sinks.append(CountingSink())
        return sinks[-1]

    # The temporary file the upload parser opens (through its module's tempfile).
    monkeypatch.setattr("api.datasets.upload.tempfile.NamedTemporaryFile", sink)
    limit = MiB
    pieces = [_upload_prefix()] + [ROWS_64K] * 160  # 10 MiB of rows
    pulled: list[int] = []
    with pytest.raises(PayloadTooLarge):
        asyncio.run(upload_module.receive_upload(_request(pieces, pulled), max_file_bytes=limit))
    assert sinks[0].was_closed
    assert sinks[0].written <= limit
    assert sum(pulled) <= limit + 2 * len(ROWS_64K) + len(pieces[0])


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += data + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


@pytest.mark.parametrize(
    ("parts", "words"),
    [
        ([("file", "a.csv", CSV_HEADER + CSV_ROW)] + [(f"f{i}", None, b"x") for i in range(8)],
         "more than 8 parts"),
        ([("file", "a.csv", CSV_HEADER + CSV_ROW), ("name", None, b"n" * 5000)],
         "longer than 4096 bytes"),
        ([("file", "a.csv", CSV_HEADER + CSV_ROW), ("file", "b.csv", CSV_HEADER + CSV_ROW)],
         "more than one `file` part"),
        ([("name", None, b"only a name")], "no `file` part"),
    ],
    ids=["too-many-parts", "field-too-long", "two-files", "no-file"],
)  # fmt: skip
def test_multipart_parts_and_fields_are_bounded_and_store_nothing(
    client: TestClient,
    member_headers: dict[str, str],
    db_session: Session,
    parts: list[tuple[str, str | None, bytes]],
    words: str,
) -> None:
    response = client.post(
        "/v1/datasets",
        content=_multipart(parts),
        headers={**member_headers, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_upload"
    assert words in response.json()["error"]["message"]
    assert db_session.scalar(select(func.count()).select_from(Dataset)) == 0
