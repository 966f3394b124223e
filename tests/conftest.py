"""Test configuration shared by every test.

Environment is set before any ``api`` module reads its settings. Fixtures live in
``tests/fixtures/`` by concern (database, object store, worker) and are loaded
here as plugins.
"""

from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="tasador-test-")
os.environ.setdefault(
    "TASADOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/tasador_test"
)
os.environ.setdefault("TASADOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ["TASADOR_ENV"] = "test"
os.environ["TASADOR_DATA_DIR"] = _TMP
os.environ["TASADOR_DATABASE_URL"] = os.environ["TASADOR_TEST_DATABASE_URL"]
os.environ["TASADOR_REDIS_URL"] = os.environ["TASADOR_TEST_REDIS_URL"]
os.environ["TASADOR_BROKER_URL"] = os.environ["TASADOR_TEST_REDIS_URL"].rsplit("/", 1)[0] + "/14"
os.environ["TASADOR_LOG_FORMAT"] = "json"

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.s3",
    "tests.fixtures.worker",
]
