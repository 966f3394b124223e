"""The curl session the runner prints (no services)."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from api.standalone.banner import Endpoints, curl_session, render
from api.standalone.bootstrap import Outcome, State
from api.standalone.quickstart import QUICKSTART

STATE = State(
    train_data="s3://tasador/datasets/1/train.csv",
    batch_data="s3://tasador/datasets/1/batch.csv",
    first_job_id="0b8c2f0e-0000-4000-8000-000000000001",
)


def _endpoints(from_env: bool = False) -> Endpoints:
    return Endpoints(
        api="http://127.0.0.1:8123",
        flower="http://127.0.0.1:5566",
        flower_user="admin",
        flower_password="flower-secret",
        data_dir=Path("/srv/tasador"),
        admin_password_from_env=from_env,
    )


def test_generated_password_is_printed_on_the_start_that_created_it() -> None:
    outcome = Outcome("admin", "Gen3rated-pw_x", STATE, first_start=True)
    text = render(outcome, _endpoints())
    assert "Gen3rated-pw_x" in text
    session = curl_session(outcome, _endpoints())
    assert session.splitlines()[0] == (
        "export TASADOR_API=http://127.0.0.1:8123 TASADOR_ADMIN_PASSWORD=Gen3rated-pw_x"
    )
    assert STATE.first_job_id in text


def test_password_is_not_printed_again_on_later_starts() -> None:
    outcome = Outcome("admin", None, STATE, first_start=False)
    session = curl_session(outcome, _endpoints())
    assert "TASADOR_ADMIN_PASSWORD='<the admin password printed on the first start>'" in session
    env_session = curl_session(outcome, _endpoints(from_env=True))
    assert env_session.splitlines()[0] == "export TASADOR_API=http://127.0.0.1:8123"


def test_the_session_is_the_quickstart_after_one_export_line_and_parses_as_shell() -> None:
    outcome = Outcome("admin", "pw with 'quote", STATE, first_start=True)
    session = curl_session(outcome, _endpoints())
    first, rest = session.split("\n", 1)
    assert rest == QUICKSTART
    assert shlex.split(first)[2] == "TASADOR_ADMIN_PASSWORD=pw with 'quote"
    checked = subprocess.run(["bash", "-n", "-c", session], capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr
