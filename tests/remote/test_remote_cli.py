"""``tasador remote`` end to end: a real API server, a Celery worker, Postgres and S3.

Log in, upload, train --wait, batch --wait --download: the downloaded file has a
prediction for every input row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from api.auth.passwords import hash_password
from api.cli import app
from api.db.session import session_scope
from api.db.tables.user import User
from api.ml.synth import generate
from tests.fixtures.server import LiveServer
from tests.fixtures.worker import Worker
from tests.jobs.conftest import FAST_PARAMS

pytestmark = pytest.mark.integration
PASSWORD = "a remote password"


def _member() -> str:
    name = f"remote-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        session.add(User(username=name, password_hash=hash_password(PASSWORD), role="member"))
    return name


@pytest.fixture
def remote(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.setenv("TASADOR_REMOTE_CONFIG", str(tmp_path / "remote.json"))
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Result:
        return runner.invoke(app, ["remote", *args], input=stdin)

    return run


def test_login_upload_train_and_batch_with_download(
    live_server: LiveServer,
    start_worker: Callable[..., Worker],
    remote: Callable[..., Result],
    tmp_path: Path,
) -> None:
    start_worker()
    username = _member()
    train_csv, batch_csv, predicted = (
        tmp_path / "train.csv",
        tmp_path / "batch.csv",
        tmp_path / "out.csv",
    )
    generate(1_500, seed=1).to_csv(train_csv, index=False)
    generate(700, seed=2).drop(columns=["price"]).to_csv(batch_csv, index=False)

    wrong = remote(
        "login",
        "--url",
        live_server.url,
        "--username",
        username,
        "--password-stdin",
        stdin="nope\n",
    )
    assert wrong.exit_code == 2 and "invalid_credentials" in wrong.output
    login = remote(
        "login",
        "--url",
        live_server.url,
        "--username",
        username,
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert login.exit_code == 0, login.output

    uploaded = remote("datasets", "upload", str(train_csv))
    assert uploaded.exit_code == 0, uploaded.output
    train_uri = json.loads(uploaded.stdout)["uri"]
    batch_uri = json.loads(remote("datasets", "upload", str(batch_csv)).stdout)["uri"]

    params = [f"--param={name}={value}" for name, value in FAST_PARAMS.items()]
    trained = remote("train", train_uri, "--preset", "notebook", *params, "--wait")
    assert trained.exit_code == 0, trained.output
    job = json.loads(trained.stdout)
    assert job["status"] == "succeeded"
    assert "100%" in trained.stderr
    version = str(job["result"]["model_version"])

    batch = remote("batch", batch_uri, "--model", version, "--wait", "--download", str(predicted))
    assert batch.exit_code == 0, batch.output
    out = pd.read_csv(predicted)
    assert len(out) == 700
    assert out["price_pred"].notna().all()

    listed = remote("jobs", "list")
    assert {j["id"] for j in json.loads(listed.stdout)} >= {job["id"]}
    missing = remote("jobs", "show", str(uuid.uuid4()))
    assert missing.exit_code == 2 and "job_not_found" in missing.output
