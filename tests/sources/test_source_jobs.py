"""Jobs on the client's databases, end to end: a real worker, a second Postgres
database and a SQLite file.

Training reads a table through a column mapping and records its lineage;
batch inference writes a new table (and ``<table>_errors``) that appears only
when the job succeeds; a job that fails leaves no table behind. The source's
password shows up in no answer and no line the worker logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from api.auth.passwords import hash_password
from api.db.session import session_scope
from api.db.tables.user import User
from tests.fixtures.worker import COMMITTED_PASSWORD, Worker, log_in_committed_member, wait_for_job
from tests.jobs.conftest import FAST_PARAMS
from tests.sources.conftest import RENAMED, SECRET, listings, table_names, write_table

pytestmark = pytest.mark.integration

MAPPING = dict(RENAMED)


def log_in_committed_admin(client: TestClient) -> dict[str, str]:
    with session_scope() as session:
        session.add(
            User(username="boss", password_hash=hash_password(COMMITTED_PASSWORD), role="admin")
        )
    form = {"username": "boss", "password": COMMITTED_PASSWORD}
    token = client.post("/v1/auth/token", data=form).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def small_chunks(worker_env: dict[str, str]) -> Iterator[None]:
    """Read and predict in chunks of 100 rows, so a job writes before it ends."""
    saved = dict(worker_env)
    worker_env.update({"TASADOR_SOURCE_CHUNK_ROWS": "100", "TASADOR_BATCH_CHUNK_ROWS": "100"})
    yield
    worker_env.clear()
    worker_env.update(saved)


def submit(client: TestClient, headers: dict[str, str], kind: str, body: dict[str, Any]) -> str:
    response = client.post(f"/v1/jobs/{kind}", json=body, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def run(client: TestClient, headers: dict[str, str], kind: str, body: dict[str, Any]) -> Any:
    return wait_for_job(client, headers, submit(client, headers, kind, body))


def test_train_from_a_table_then_predict_a_table_into_a_new_table(
    live_client: TestClient,
    start_worker: Callable[..., Worker],
    client_pg: Engine,
    client_pg_url: str,
    small_chunks: None,
) -> None:
    worker = start_worker()
    admin = log_in_committed_admin(live_client)
    member = log_in_committed_member(live_client)
    body = {"name": "crm", "url": client_pg_url, "writable": True}
    assert live_client.post("/v1/data-sources", json=body, headers=admin).status_code == 201
    write_table(client_pg, "listings", listings(1_200), schema="sales")
    source = {"source": "crm", "table": "sales.listings", "columns": MAPPING}

    trained = run(live_client, member, "training", {"train_data": source, "params": FAST_PARAMS})
    assert trained["status"] == "succeeded", trained
    version = trained["result"]["model_version"]
    model = live_client.get(f"/v1/models/{version}", headers=member).json()
    lineage = model["training_data"]
    assert lineage["source"] == "crm" and lineage["table"] == "sales.listings"
    assert lineage["rows"] == 1_200 and len(lineage["sha256"]) == 64
    again = run(live_client, member, "training", {"train_data": source, "params": FAST_PARAMS})
    second = live_client.get(f"/v1/models/{again['result']['model_version']}", headers=member)
    assert second.json()["training_data"]["sha256"] == lineage["sha256"]  # same rows, same digest

    to_score = listings(700, seed=8).drop(columns=["price_uf"])
    to_score.loc[3, "type"] = "castle"  # one invalid row
    write_table(client_pg, "to_score", to_score)
    batch = {
        "input_data": {"source": "crm", "table": "to_score", "columns": MAPPING},
        "output_data": {"source": "crm", "table": "scored"},
        "model": version,
    }
    job = run(live_client, member, "batch-inference", batch)
    assert job["status"] == "succeeded", job
    result = job["result"]
    assert result["rows"] == 699 and result["failed_rows"] == 1
    assert result["output_table"] == "scored" and result["errors_table"] == "scored_errors"
    scored = pd.read_sql("SELECT * FROM scored ORDER BY listing_id", client_pg)
    assert len(scored) == 699 and 4 not in set(scored["listing_id"].astype(int))
    assert (scored["price_pred"] > 0).all()
    errors = pd.read_sql("SELECT * FROM scored_errors", client_pg)
    assert list(errors["row"]) == [4] and list(errors["column"]) == ["type"]
    assert not any(name.startswith("_tasador_stage_") for name in table_names(client_pg))
    assert SECRET not in worker.output() and SECRET not in str(job) + str(model)


def test_a_failing_job_leaves_no_table(
    live_client: TestClient,
    start_worker: Callable[..., Worker],
    client_pg: Engine,
    client_pg_url: str,
    small_chunks: None,
) -> None:
    start_worker()
    admin = log_in_committed_admin(live_client)
    body = {"name": "crm", "url": client_pg_url, "writable": True}
    assert live_client.post("/v1/data-sources", json=body, headers=admin).status_code == 201
    write_table(client_pg, "listings", listings(600, renamed=False))
    trained = run(
        live_client,
        admin,
        "training",
        {"train_data": {"source": "crm", "table": "listings"}, "params": FAST_PARAMS},
    )
    assert trained["status"] == "succeeded", trained
    # A view whose 450th row fails to compute: the job has written rows by then.
    with client_pg.begin() as connection:
        connection.execute(
            text(
                "CREATE VIEW breaks AS SELECT listing_id, type, sector, net_usable_area, "
                "net_area, n_rooms, n_bathroom, latitude, "
                "longitude / (CASE WHEN listing_id = 450 THEN 0 ELSE 1 END) AS longitude "
                "FROM listings"
            )
        )
    batch = {
        "input_data": {"source": "crm", "table": "breaks"},
        "output_data": {"source": "crm", "table": "never"},
        "model": trained["result"]["model_version"],
    }
    job = run(live_client, admin, "batch-inference", batch)
    assert job["status"] == "failed", job
    assert job["error"]["code"] == "source_query_failed"
    names = table_names(client_pg)
    assert "never" not in names and "never_errors" not in names
    assert not any(name.startswith("_tasador_stage_") for name in names)


def test_a_sqlite_file_is_a_source_for_training_and_for_a_new_table(
    live_client: TestClient,
    start_worker: Callable[..., Worker],
    client_sqlite: tuple[Engine, str],
) -> None:
    start_worker()
    engine, url = client_sqlite
    admin = log_in_committed_admin(live_client)
    body = {"name": "file", "url": url, "writable": True}
    assert live_client.post("/v1/data-sources", json=body, headers=admin).status_code == 201
    write_table(engine, "listings", listings(900))
    source = {"source": "file", "table": "listings", "columns": MAPPING}
    trained = run(live_client, admin, "training", {"train_data": source, "params": FAST_PARAMS})
    assert trained["status"] == "succeeded", trained
    batch = {
        "input_data": {**source, "where": {"type": "casa"}},
        "output_data": {"source": "file", "table": "casas_scored"},
        "model": trained["result"]["model_version"],
    }
    job = run(live_client, admin, "batch-inference", batch)
    assert job["status"] == "succeeded", job
    casas = int((listings(900)["type"] == "casa").sum())
    scored = pd.read_sql("SELECT * FROM casas_scored", engine)
    assert len(scored) == casas == job["result"]["rows"]
    assert set(scored["type"]) == {"casa"}
    assert "casas_scored_errors" not in table_names(engine)  # no row failed
