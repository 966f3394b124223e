"""Staging tables that dead attempts left behind are swept; a running attempt's are kept."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Engine, text

from api.db.session import session_scope
from api.db.tables.data_source import DataSource
from api.db.tables.job import Job, JobKind, JobStatus
from api.db.tables.user import User
from api.jobs.execution.sweeper import sweep_leftovers
from api.sources.writing import staging_name
from tests.sources.conftest import SECRET, table_names


def test_the_sweeper_drops_staging_tables_of_attempts_that_are_not_running(
    committed_db: Any, client_pg: Engine, client_pg_url: str
) -> None:
    with session_scope() as session:
        owner = User(username="owner", password_hash="x", role="member")
        session.add(owner)
        session.flush()
        running = Job(owner_id=owner.id, kind=JobKind.BATCH_INFERENCE, status=JobStatus.RUNNING,
                      request={}, inputs={}, attempts=2)  # fmt: skip
        session.add(running)
        session.add(DataSource(name="crm", url=client_pg_url.replace(SECRET, ""), writable=True))
        session.flush()
        live_job = running.id
    dead_job = uuid.uuid4()
    live, superseded = staging_name(live_job, 2), staging_name(live_job, 1)
    dead, dead_errors = staging_name(dead_job, 1), staging_name(dead_job, 1, errors=True)
    with client_pg.begin() as connection:
        for name in (live, superseded, dead, dead_errors, "keep_me"):
            connection.execute(text(f'CREATE TABLE "{name}" (x int)'))

    report = sweep_leftovers()

    assert report.tables == 3
    assert table_names(client_pg) == {live, "keep_me"}
