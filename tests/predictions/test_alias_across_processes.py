"""An alias moved through one API process is served by another within a second."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from api.auth.tokens import issue_access_token
from api.db.session import session_scope
from api.users.service import create_user
from tests.fixtures.db import TEST_PASSWORD, hashed_test_password
from tests.fixtures.server import api_processes
from tests.predictions.conftest import TrainedModel, instance, register

pytestmark = pytest.mark.slow


@pytest.fixture
def two_api_processes(committed_db: Engine) -> Iterator[list[str]]:
    with api_processes(2, {"TASADOR_ALIAS_REFRESH_SECONDS": "0.5"}) as urls:
        yield urls


def test_serving_follows_an_alias_move_within_one_second_across_processes(
    two_api_processes: list[str], trained_models: list[TrainedModel]
) -> None:
    with session_scope() as session:
        admin = create_user(
            session, "alias-mover", TEST_PASSWORD, "admin", password_hash=hashed_test_password()
        )
        old = register(session, trained_models[0], alias="production")
        new = register(session, trained_models[1], alias=None)
    headers = {"Authorization": f"Bearer {issue_access_token(admin.id, admin.role).token}"}
    mover, server = two_api_processes
    body = {"instances": [instance()]}

    with httpx.Client(base_url=server, headers=headers, timeout=10) as other:
        assert other.post("/v1/predictions", json=body).json()["model_version"] == old
        # Load the new version beforehand: what is timed is the alias, not a model load.
        warm = other.post("/v1/predictions", json={**body, "model": new})
        assert warm.json()["model_version"] == new

        moved = httpx.put(
            f"{mover}/v1/models/aliases/production", json={"version": new}, headers=headers
        )
        assert moved.status_code == 200, moved.text
        started = time.monotonic()
        version = old
        while version == old and time.monotonic() - started < 5:
            version = other.post("/v1/predictions", json=body).json()["model_version"]
        elapsed = time.monotonic() - started

    assert version == new
    assert elapsed < 1.0, f"the other process served the old version for {elapsed:.2f} s"
