"""Web-interface fixtures: signed-in page clients and versions that have charts."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.db.tables.user import User
from api.ml.charts import render_charts
from api.ml.synth import generate
from api.ownership import artifact_uri
from api.registry import artifacts as registry_artifacts
from api.registry import service as registry_service
from api.storage import get_store
from api.ui import session as ui_session
from tests.security.tenants import tiny_artifact  # noqa: F401

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    """Requests as one signed-in browser makes them (the session cookie, its CSRF token)."""

    client: TestClient
    cookie: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Cookie": f"{ui_session.COOKIE_NAME}={self.cookie}"}

    @property
    def csrf(self) -> str:
        found = ui_session.read(self.cookie)
        assert found is not None
        return ui_session.csrf_token(found.session_id)

    def get(self, path: str) -> httpx.Response:
        answer: httpx.Response = self.client.get(path, headers=self.headers, follow_redirects=False)
        return answer

    def post(self, path: str, form: dict[str, str]) -> httpx.Response:
        answer: httpx.Response = self.client.post(
            path, data=form, headers=self.headers, follow_redirects=False
        )
        return answer


PageFor = Callable[[User], Page]


@pytest.fixture
def page_for(client: TestClient) -> PageFor:
    def make(user: User) -> Page:
        return Page(client, ui_session.issue(user.id))

    return make


def chart_frame(seed: int) -> pd.DataFrame:
    frame = generate(200, seed=seed)
    noise = 1.0 + 0.1 * ((frame.index % 7) - 3) / 3
    return frame.assign(actual=frame["price"], predicted=frame["price"] * noise)


@pytest.fixture
def charted_version(db_session: Session, tiny_artifact: bytes) -> Callable[..., int]:  # noqa: F811
    """Register a version with metrics and its charts in the store; its number."""

    def register(
        *,
        training_uri: str = "s3://tests/train.csv",
        alias: str | None = None,
        rmse: float = 900.0,
        artifact: bytes | None = None,
    ) -> int:
        uri = artifact_uri(str(uuid.uuid4()))
        store = get_store()
        store.put_bytes(uri, tiny_artifact if artifact is None else artifact)
        importances = {"sector": 0.4, "net_usable_area": 0.6}
        for name, svg in render_charts(chart_frame(int(rmse)), importances).items():
            store.put_bytes(registry_artifacts.chart_uri(uri, name), svg)
        row = registry_service.register(
            db_session,
            preset="default",
            params={"n_estimators": 10},
            metrics={"rmse": rmse, "mae": rmse / 2, "median_ape": 0.08, "within_10pct": 0.58},
            evaluation={"on": "holdout", "fraction": 0.2, "seed": 1, "rows": 80},
            training_data={"uri": training_uri, "sha256": "ab" * 32, "rows": 400},
            artifact_uri=uri,
        )
        if alias:
            registry_service.move_alias(db_session, alias, row.version, actor_id=None)
        db_session.commit()
        return row.version

    return register
