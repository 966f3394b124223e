"""Registering the client's databases, and every submit-time refusal of a source input.

Refusals come before any job exists: the jobs table is checked empty after each.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, make_url, select
from sqlalchemy.orm import Session

from api.config import get_settings
from api.db.tables.data_source import DataSource
from api.db.tables.job import Job
from api.errors import InvalidInput
from api.registry import service as registry_service
from api.sources.connection import parse_url
from tests.fixtures.logs import CapturedLines
from tests.sources.conftest import RENAMED, SECRET, listings, write_table

MAPPING = {feature: column for feature, column in RENAMED.items()}


def register(
    client: TestClient, headers: dict[str, str], url: str, name: str = "crm", **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/v1/data-sources", json={"name": name, "url": url, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def jobs(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_admin_registers_a_source_whose_password_is_sealed_and_never_shown(
    client: TestClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    client_pg_url: str,
    db_session: Session,
    service_logs: CapturedLines,
) -> None:
    shown = register(client, admin_headers, client_pg_url, description="the CRM")
    assert shown["dialect"] == "postgresql" and shown["host"] == "127.0.0.1"
    assert shown["database"].endswith("_client") and shown["writable"] is False
    assert "***" in shown["url"]
    stored = db_session.scalars(select(DataSource)).one()
    assert SECRET not in stored.url and SECRET not in (stored.sealed_password or "")

    as_member = client.get("/v1/data-sources/crm", headers=member_headers).json()
    assert as_member["url"] is None and as_member["name"] == "crm"
    listed = client.get("/v1/data-sources", headers=admin_headers)
    checked = client.post("/v1/data-sources/crm/check", headers=admin_headers)
    assert checked.status_code == 200, checked.text
    for answer in (listed.text, checked.text, str(shown)):
        assert SECRET not in answer
    assert SECRET not in service_logs.text


def test_members_may_not_register_check_or_delete_sources(
    client: TestClient,
    member_headers: dict[str, str],
    admin_headers: dict[str, str],
    client_pg_url: str,
) -> None:
    body = {"name": "crm", "url": client_pg_url}
    assert client.post("/v1/data-sources", json=body, headers=member_headers).status_code == 403
    register(client, admin_headers, client_pg_url)
    assert client.post("/v1/data-sources/crm/check", headers=member_headers).status_code == 403
    assert client.delete("/v1/data-sources/crm", headers=member_headers).status_code == 403


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("not a url", "invalid_source_url"),
        ("oracle+nosuch://u:p@h/db", "invalid_source_url"),
        ("postgresql+psycopg2://u:p@127.0.0.1/db", "driver_not_installed"),
        ("mysql+pymysql://u:p@127.0.0.1/db", "driver_not_installed"),
        # A password outside the user part would be stored and shown unsealed.
        ("postgresql+psycopg://bob@127.0.0.1:5432/db?password=secret", "invalid_source_url"),
        # SQLite: an absolute path to a file, and nothing that changes how it is opened.
        ("sqlite://u:secret@/tmp/source.db", "invalid_source_url"),
        ("sqlite:///relative.db", "invalid_source_url"),
        ("sqlite:////tmp/created.db%3Fmode%3Drwc", "invalid_source_url"),
        ("sqlite:////tmp/source.db?mode=rwc", "invalid_source_url"),
    ],
)
def test_a_url_the_server_cannot_use_is_refused_naming_why(
    client: TestClient, admin_headers: dict[str, str], url: str, code: str
) -> None:
    response = client.post(
        "/v1/data-sources", json={"name": "x", "url": url}, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code
    if code == "driver_not_installed":
        assert response.json()["error"]["details"]["package"] in response.json()["error"]["message"]


def test_the_services_own_database_cannot_be_registered(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    # Every member may read a registered source's tables: Tasador's own would hand
    # them the users' password hashes.
    own = make_url(get_settings().database_url)
    for url in (own, own.set(host="localhost")):
        response = client.post(
            "/v1/data-sources",
            json={"name": "own", "url": url.render_as_string(hide_password=False)},
            headers=admin_headers,
        )
        assert response.status_code == 422, response.text
        assert "own database" in response.json()["error"]["message"]


def test_an_unreachable_source_answers_422_with_the_reason_and_not_the_password(
    client: TestClient, admin_headers: dict[str, str], service_logs: CapturedLines
) -> None:
    url = f"postgresql+psycopg://someone:{SECRET}@127.0.0.1:1/nothing"
    register(client, admin_headers, url)
    response = client.post("/v1/data-sources/crm/check", headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "source_unreachable"
    assert SECRET not in response.text and SECRET not in service_logs.text


@pytest.fixture
def crm(
    client: TestClient, admin_headers: dict[str, str], client_pg: Engine, client_pg_url: str
) -> None:
    write_table(client_pg, "listings", listings(50))
    register(client, admin_headers, client_pg_url, writable=True)


def training(table: str, **extra: Any) -> dict[str, Any]:
    return {"train_data": {"source": "crm", "table": table, "columns": MAPPING, **extra}}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (training("users; drop table x"), 422, "table_not_found"),
        (training("no_such_table"), 422, "table_not_found"),
        (training("nope.listings"), 422, "table_not_found"),
        (training("listings", columns={**MAPPING, "n_rooms": "bedrooms"}), 422, "column_not_found"),
        (
            training("listings", columns={**MAPPING, "colour": "usable_m2"}),
            422,
            "invalid_column_mapping",
        ),
        (training("listings", columns={}), 422, "missing_columns"),
        (training("listings", where={"no_column": 1}), 422, "column_not_found"),
        (training("listings", where={"n_rooms": 2**63}), 422, "validation_error"),
        ({"train_data": {"source": "nobody", "table": "listings"}}, 404, "source_not_found"),
        ({"train_data": {"source": "crm", "query": "SELECT 1"}}, 403, "forbidden"),
    ],
)
def test_names_not_in_the_catalogue_are_refused_before_a_job_exists(
    client: TestClient,
    member_headers: dict[str, str],
    crm: None,
    db_session: Session,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = client.post("/v1/jobs/training", json=body, headers=member_headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert jobs(db_session) == 0


def test_a_where_value_refused_is_named_in_the_message(
    client: TestClient, member_headers: dict[str, str], crm: None
) -> None:
    body = training("listings", where={"n_rooms": 2**63})
    response = client.post("/v1/jobs/training", json=body, headers=member_headers)
    assert response.status_code == 422
    assert "outside the 64-bit integer range" in response.json()["error"]["message"]


def test_an_admin_query_is_checked_by_running_it_for_no_rows(
    client: TestClient, admin_headers: dict[str, str], crm: None, db_session: Session
) -> None:
    body = {"train_data": {"source": "crm", "query": "SELECT * FROM listings WHERE nonsense"}}
    response = client.post("/v1/jobs/training", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "source_query_failed"
    readonly = {"train_data": {"source": "crm", "query": "DELETE FROM listings RETURNING *"}}
    response = client.post("/v1/jobs/training", json=readonly, headers=admin_headers)
    assert response.json()["error"]["code"] == "source_query_failed"
    assert jobs(db_session) == 0


def test_a_table_output_must_be_new_and_on_a_writable_source(
    client: TestClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    crm: None,
    client_pg: Engine,
    client_pg_url: str,
    db_session: Session,
) -> None:
    write_table(client_pg, "scored_errors", listings(1))
    source = {"source": "crm", "table": "listings", "columns": MAPPING}
    for table in ("listings", "scored"):  # the table, or its errors table, exists
        body = {"input_data": source, "output_data": {"source": "crm", "table": table}}
        response = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "output_exists"
    register(client, admin_headers, client_pg_url, name="crm_ro")
    body = {"input_data": source, "output_data": {"source": "crm_ro", "table": "fresh"}}
    response = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "source_read_only"
    assert jobs(db_session) == 0


def test_a_table_output_names_a_schema_the_source_lists(
    client: TestClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    crm: None,
    client_sqlite: tuple[Engine, str],
    db_session: Session,
) -> None:
    write_table(client_sqlite[0], "listings", listings(5))
    register(client, admin_headers, client_sqlite[1], name="file", writable=True)
    outputs = [("crm", "nope.scored"), ("crm", "pg_catalog.scored"), ("file", "temp.scored")]
    for source, table in outputs:
        body = {
            "input_data": {"source": source, "table": "listings", "columns": MAPPING},
            "output_data": {"source": source, "table": table},
        }
        response = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "schema_not_found"
    assert jobs(db_session) == 0


@pytest.fixture
def production_model(db_session: Session) -> int:
    """A registered version under ``production`` (no artifact: no job runs here)."""
    row = registry_service.register(
        db_session,
        preset="default",
        params={},
        metrics={},
        evaluation={},
        training_data={"uri": "s3://tests/train.csv", "sha256": "0" * 64, "rows": 1},
        artifact_uri="s3://tests/none.tsm",
        created_by=None,
    )
    registry_service.move_alias(db_session, "production", row.version, actor_id=None, reason="t")
    db_session.commit()
    return row.version


def test_a_source_in_use_by_a_queued_job_cannot_be_deleted(
    client: TestClient,
    admin_headers: dict[str, str],
    member_headers: dict[str, str],
    crm: None,
    production_model: int,
) -> None:
    body = {"input_data": {"source": "crm", "table": "listings", "columns": MAPPING}}
    submitted = client.post("/v1/jobs/batch-inference", json=body, headers=member_headers)
    assert submitted.status_code == 202, submitted.text
    refused = client.delete("/v1/data-sources/crm", headers=admin_headers)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "source_in_use"
    job = submitted.json()["id"]
    assert client.post(f"/v1/jobs/{job}/cancel", headers=member_headers).status_code == 200
    assert client.delete("/v1/data-sources/crm", headers=admin_headers).status_code == 204
    assert client.get("/v1/data-sources/crm", headers=admin_headers).status_code == 404


def test_on_the_embedded_database_sources_register_and_its_own_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The standalone service runs on a SQLite file under its data directory and
    # has no TASADOR_DATABASE_URL.
    monkeypatch.delenv("TASADOR_DATABASE_URL", raising=False)
    monkeypatch.setenv("TASADOR_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        own = make_url(get_settings().sqlalchemy_url)
        assert parse_url(f"sqlite:///{tmp_path / 'client.db'}").database is not None
        with pytest.raises(InvalidInput, match="own database"):
            parse_url(own.render_as_string())
        assert parse_url(f"postgresql+psycopg://someone@127.0.0.1/{uuid.uuid4().hex}")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
