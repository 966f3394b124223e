"""Values the database cannot store answer 422, never 500.

Found from outside: integers past Postgres INTEGER (2^31 - 1) in paths, queries
and bodies, and NUL characters in stored text, answered 500 with a traceback
each (one of them, the login form, without credentials).
"""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.base import MAX_INT_ID
from api.db.tables.api_key import ApiKey
from api.db.tables.dataset import Dataset
from api.db.tables.job import Job
from api.ml.synth import generate

TOO_BIG = MAX_INT_ID + 1


def _csv() -> bytes:
    buffer = io.StringIO()
    generate(20, seed=3).to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/v1/models/{TOO_BIG}", None),
        ("GET", f"/v1/models?before={TOO_BIG}", None),
        ("DELETE", f"/v1/api-keys/{TOO_BIG}", None),
        ("GET", f"/v1/models/{2**63}", None),
    ],
)
def test_an_integer_past_the_id_range_answers_422_in_the_envelope(
    client: TestClient, member_headers: dict[str, str], method: str, path: str, body: None
) -> None:
    answer = client.request(method, path, headers=member_headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "validation_error"


def test_an_alias_moved_to_a_version_past_the_range_answers_422(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    answer = client.put(
        "/v1/models/aliases/staging", json={"version": TOO_BIG}, headers=admin_headers
    )
    assert answer.status_code == 422, answer.text


@pytest.mark.parametrize("model", [TOO_BIG, str(TOO_BIG)])
def test_a_batch_job_naming_a_version_past_the_range_is_refused_and_creates_nothing(
    client: TestClient,
    member_headers: dict[str, str],
    db_session: Session,
    model: int | str,
) -> None:
    files = {"file": ("homes.csv", _csv(), "text/csv")}
    dataset = client.post("/v1/datasets", files=files, headers=member_headers).json()
    body = {"input_data": dataset["uri"], "model": model}
    answer = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
    assert answer.status_code in (404, 422), answer.text
    assert db_session.scalar(select(func.count()).select_from(Job)) == 0


def test_a_nul_in_the_login_form_is_refused_without_a_500(client: TestClient) -> None:
    answer = client.post("/v1/auth/token", data={"username": "a\x00", "password": "x"})
    assert answer.status_code in (401, 422), answer.text
    assert "error" in answer.json()


def test_a_nul_in_an_api_key_name_answers_422_and_stores_nothing(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    body = {"name": "a\x00b", "expires_in_days": 5}
    answer = client.post("/v1/api-keys", json=body, headers=member_headers)
    assert answer.status_code == 422, answer.text
    assert db_session.scalar(select(func.count()).select_from(ApiKey)) == 0


def test_a_nul_in_a_dataset_name_answers_422_and_stores_nothing(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    files = {"file": ("homes.csv", _csv(), "text/csv")}
    answer = client.post(
        "/v1/datasets", files=files, data={"name": "a\x00b"}, headers=member_headers
    )
    assert answer.status_code == 422, answer.text
    assert db_session.scalar(select(func.count()).select_from(Dataset)) == 0


def test_an_upload_without_its_closing_boundary_is_refused_and_stores_nothing(
    client: TestClient, member_headers: dict[str, str], db_session: Session
) -> None:
    body = (
        b"--BB\r\n"
        b'Content-Disposition: form-data; name="file"; filename="a.csv"\r\n'
        b"Content-Type: text/csv\r\n\r\n" + _csv()
    )
    headers = {**member_headers, "Content-Type": "multipart/form-data; boundary=BB"}
    answer = client.post("/v1/datasets", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert "closing boundary" in answer.json()["error"]["message"]
    assert db_session.scalar(select(func.count()).select_from(Dataset)) == 0
