"""The client's databases for source tests: a second Postgres database and a SQLite file.

The Postgres one is ``<test database>_client`` on the test server, created when
missing and emptied around each test; its user gets a password for the test so
that the password's absence from answers and logs can be checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import URL, Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from api.ml.synth import generate
from tests.fixtures.db import create_database_if_missing, database_url_for_tests

# What the client's listings table calls the features (a column mapping undoes it).
RENAMED = {"net_usable_area": "usable_m2", "n_rooms": "rooms", "price": "price_uf"}
SECRET = "s3cr3t-Pa55word-not-for-logs"


def client_url() -> URL:
    base = database_url_for_tests()
    return base.set(database=f"{base.database}_client")


def _clear(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        connection.execute(text("DROP SCHEMA IF EXISTS sales CASCADE"))


@pytest.fixture
def client_pg() -> Iterator[Engine]:
    """The client's Postgres database, empty."""
    url = client_url()
    create_database_if_missing(url)
    engine = create_engine(url, poolclass=NullPool)
    _clear(engine)
    yield engine
    _clear(engine)
    engine.dispose()


@pytest.fixture
def client_pg_url(client_pg: Engine) -> str:
    """The client database's URL with a password in it (trust auth ignores it)."""
    return client_url().set(password=SECRET).render_as_string(hide_password=False)


@pytest.fixture
def client_sqlite(tmp_path: Path) -> tuple[Engine, str]:
    path = tmp_path / "client.db"
    url = f"sqlite:///{path}"
    return create_engine(url, poolclass=NullPool), url


def listings(rows: int, seed: int = 3, *, renamed: bool = True) -> pd.DataFrame:
    frame = generate(rows, seed=seed)
    frame.insert(0, "listing_id", range(1, rows + 1))
    return frame.rename(columns=RENAMED) if renamed else frame


WriteTable = Callable[..., None]


def write_table(engine: Engine, name: str, frame: pd.DataFrame, schema: str | None = None) -> None:
    with engine.begin() as connection:
        if schema:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        frame.to_sql(name, connection, schema=schema, index=False)
        qualified = f"{schema}.{name}" if schema else name
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"ALTER TABLE {qualified} ADD PRIMARY KEY (listing_id)"))


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
