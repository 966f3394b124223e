"""Migrations: reversible on Postgres and SQLite, and in step with the table definitions."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.pool import NullPool

import api.db.tables
from api.db.base import Base
from api.db.migrate import downgrade, upgrade
from tests.fixtures.db import create_database_if_missing, database_url_for_tests, reset_schema

IDENTITY_TABLES = {"users", "api_keys", "refresh_tokens", "login_attempts"}


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


@pytest.mark.services  # a database of its own on the test Postgres server
def test_postgres_upgrade_downgrade_upgrade_round_trips() -> None:
    # A database of its own, so the shared migrated one is never left half-built.
    url = database_url_for_tests()
    url = url.set(database=f"{url.database}_migrations")
    create_database_if_missing(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        reset_schema(engine)
        assert _tables(engine) >= IDENTITY_TABLES
        with engine.begin() as connection:
            downgrade("base", connection=connection)
        assert _tables(engine) == set()
        with engine.begin() as connection:
            upgrade("head", connection=connection)
        assert _tables(engine) >= IDENTITY_TABLES
    finally:
        engine.dispose()


def test_autogenerate_finds_no_difference_between_tables_and_migrations(
    migrated_engine: Engine,
) -> None:
    # Every table module, listed in api.db.tables or not, must have its migration.
    for module in pkgutil.iter_modules(api.db.tables.__path__):
        importlib.import_module(f"api.db.tables.{module.name}")
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_first_revision_id_is_stable_for_later_revisions_to_build_on(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.connect() as connection:
        heads = MigrationContext.configure(connection).get_current_heads()
    assert len(heads) == 1
    revisions = Path(__file__).resolve().parents[2] / "migrations" / "versions"
    assert (revisions / "0001_identity.py").exists()


def test_sqlite_upgrade_downgrade_upgrade_round_trips(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh' / 'tasador.db'}"
    upgrade("head", url=url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        assert _tables(engine) >= IDENTITY_TABLES
        downgrade("base", url=url)
        assert _tables(engine) == set()
        upgrade("head", url=url)
        assert _tables(engine) >= IDENTITY_TABLES
    finally:
        engine.dispose()
