"""Test configuration shared by every test.

Environment is set before any ``api`` module reads its settings. Fixtures live in
``tests/fixtures/`` by concern (database, object store, worker) and are loaded
here as plugins.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest

_TMP = tempfile.mkdtemp(prefix="tasador-test-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
os.environ.setdefault(
    "TASADOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tasador_test"
)
os.environ.setdefault("TASADOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["TASADOR_ENV"] = "test"
os.environ["TASADOR_DATA_DIR"] = _TMP
os.environ["TASADOR_DATABASE_URL"] = os.environ["TASADOR_TEST_DATABASE_URL"]
os.environ["TASADOR_REDIS_URL"] = os.environ["TASADOR_TEST_REDIS_URL"]
# The broker gets the Redis database just below the test one (15 -> 14), so two
# checkouts can run side by side with different TASADOR_TEST_REDIS_URLs.
_redis_base, _redis_db = os.environ["TASADOR_TEST_REDIS_URL"].rsplit("/", 1)
os.environ["TASADOR_BROKER_URL"] = f"{_redis_base}/{max(int(_redis_db or 1) - 1, 0)}"
os.environ["TASADOR_LOG_FORMAT"] = "json"

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.logs",
    "tests.fixtures.s3",
    "tests.fixtures.server",
    "tests.fixtures.worker",
]

# Fixtures that reach Postgres, Redis, the S3 server or a worker. A test that
# uses one, directly or through another fixture, is marked ``services``, and
# ``make test-fast`` leaves it out; a test that reaches a service some other way
# carries the mark itself (or ``integration``).
SERVICE_FIXTURES = frozenset(
    {"migrated_engine", "committed_db", "moto_server", "flushed_broker", "worker_env"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if uses & SERVICE_FIXTURES or item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.services)
