"""Migration 0003 builds exactly the mapped webhook tables, on SQLite and Postgres."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from api.db.base import Base
from api.db.engine import build_engine, configure_engine, get_engine
from api.db.migrate import downgrade, upgrade
from api.db.tables.webhook_delivery import WebhookAttempt, WebhookDelivery
from api.db.tables.webhook_secret import WebhookSecret
from tests.webhooks.helpers import attempts_of, committed_user, delivery_of, drive, finished_job
from tests.webhooks.receiver import Receiver

WEBHOOK_TABLES = {
    WebhookSecret.__tablename__,
    WebhookDelivery.__tablename__,
    WebhookAttempt.__tablename__,
}


# One difference autogenerate reports: an operation tuple such as ("add_table", table),
# or a list of them for the changes to one column.
Difference = tuple[Any, ...] | list[tuple[Any, ...]]


def differences_in_webhook_tables(engine: Engine) -> list[Difference]:
    """Autogenerate's diff between the database and the mapped tables, ours only."""
    with engine.connect() as connection:
        diff: list[Difference] = compare_metadata(
            MigrationContext.configure(connection), Base.metadata
        )
    return [d for d in diff if WEBHOOK_TABLES & {str(part) for part in _names(d)}]


def _names(entry: Difference) -> list[str]:
    items = entry if isinstance(entry, list) else [entry]
    names = []
    for item in items:
        for part in item:
            table = getattr(part, "table", None)
            names.append(getattr(table, "name", None) or getattr(part, "name", None) or part)
    return [str(n) for n in names]


def _sqlite_at(tmp_path: Path, revision: str) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'hooks.db'}"
    upgrade(revision, url=url)
    engine = build_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """The embedded database as the webhooks revision left it."""
    yield from _sqlite_at(tmp_path, "0003_webhooks")


@pytest.fixture
def sqlite_head_engine(tmp_path: Path) -> Iterator[Engine]:
    """The embedded database as the service runs on it today."""
    yield from _sqlite_at(tmp_path, "head")


def test_sqlite_upgrade_matches_the_tables_and_downgrade_removes_them(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    assert set(inspect(sqlite_engine).get_table_names()) >= WEBHOOK_TABLES
    assert differences_in_webhook_tables(sqlite_engine) == []
    downgrade("0002_jobs", url=str(sqlite_engine.url))
    remaining = set(inspect(sqlite_engine).get_table_names())
    assert not WEBHOOK_TABLES & remaining and "jobs" in remaining


def test_postgres_schema_matches_the_tables(migrated_engine: Engine) -> None:
    assert differences_in_webhook_tables(migrated_engine) == []


@pytest.mark.services  # the database is SQLite, but the retry is scheduled on the broker
def test_a_delivery_runs_on_the_embedded_sqlite_database(
    sqlite_head_engine: Engine, receiver: Receiver, webhook_env: dict[str, str]
) -> None:
    previous = get_engine()
    configure_engine(sqlite_head_engine)
    try:
        delivery = delivery_of(finished_job(committed_user(), receiver.url))
        assert drive(delivery.id) == "delivered"
        assert [a.status_code for a in attempts_of(delivery.id)] == [200]
        assert receiver.requests[0].headers["webhook-id"] == delivery.id
    finally:
        configure_engine(previous)
