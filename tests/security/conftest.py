"""Security-test fixtures: a real API process, data owned by a given user, models, fingerprints."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

# The CLI fixtures (synthetic CSVs, a model trained through the CLI).
from tests.commands.conftest import data, trained  # noqa: F401

# The predictions fixtures (a trained model registered as production, the app
# with its serving lifespan), for the prediction-log replay.
from tests.predictions.conftest import (  # noqa: F401
    api,
    register_model,
    registered_model,
    trained_models,
)
from tests.security.server import ApiProcess, start_api, stop_api
from tests.security.tenants import tiny_artifact  # noqa: F401

UPLOAD_LIMIT = 4 * 1024 * 1024  # the upload limit of the ``live_api`` process


@dataclass
class LiveApi:
    process: ApiProcess
    spool: Path  # the process's temporary folder, where uploads are received
    data_dir: Path  # its local object store lives under here

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port


@pytest.fixture(scope="session")
def live_api(
    migrated_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveApi]:
    """One uvicorn process on the test database with a 4 MiB upload limit.

    Tests that write rows it must see commit them (``committed_db``)."""
    spool = tmp_path_factory.mktemp("live-api-tmp")
    data_dir = tmp_path_factory.mktemp("live-api-data")
    env = {
        "TMPDIR": str(spool),
        "TASADOR_DATA_DIR": str(data_dir),
        "TASADOR_STORAGE_BACKEND": "local",
        "TASADOR_UPLOAD_MAX_BYTES": str(UPLOAD_LIMIT),
    }
    process = start_api(env)
    try:
        yield LiveApi(process, spool, data_dir)
    finally:
        stop_api(process)
