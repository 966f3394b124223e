"""``tasador standalone`` end to end: one command, the whole service, a clean stop.

Runs the real command as a user would, on free ports with a temporary data
directory, and needs no Postgres, Redis or S3: it brings its own SQLite, object
store and broker.
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.perf.stack import free_port
from tests.standalone.process import Standalone, live_processes_in_sessions
from tests.standalone.test_quickstart import run_snippet

START_TIMEOUT = 90.0
FIRST_MODEL_TIMEOUT = 90.0
INSTANCE = {
    "type": "casa",
    "sector": "vitacura",
    "net_usable_area": 180.0,
    "net_area": 400.0,
    "n_rooms": 4,
    "n_bathroom": 3,
    "latitude": -33.38,
    "longitude": -70.57,
}


def _login(client: httpx.Client, password: str) -> None:
    answer = client.post("/v1/auth/token", data={"username": "admin", "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def _wait_for_job(client: httpx.Client, job_id: str, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, object] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s: {job}")


def _stop_and_check_nothing_is_left(run: Standalone) -> None:
    children = run.children()
    assert run.interrupt(timeout=60) == 0, run.output
    assert "stopped." in run.output
    assert live_processes_in_sessions(set(children.values())) == []


def _run_printed_curl_session(banner: str, cwd: Path) -> str:
    """The banner's lines, pasted into bash as they are; the last output line."""
    script = banner[banner.index("export TASADOR_API=") : banner.index("Press Ctrl-C")]
    done = run_snippet(script, cwd, {}, timeout=120)
    assert done.returncode == 0, done.stderr
    wrong = re.sub(r"TASADOR_ADMIN_PASSWORD=\S+", "TASADOR_ADMIN_PASSWORD=wrong-password", script)
    started = time.monotonic()
    refused = run_snippet(wrong, cwd, {}, timeout=30)
    assert refused.returncode != 0
    assert time.monotonic() - started < 15
    assert "quickstart: cannot log in" in refused.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find leftover processes")
def test_standalone_trains_serves_batch_jobs_keeps_data_and_stops_every_process(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    run = Standalone(data_dir, free_port(), free_port())
    try:
        banner = run.wait_until_ready(START_TIMEOUT)
        assert httpx.get(f"{run.api}/readyz").status_code == 200
        found = re.search(r"admin / password (\S+)", banner)
        assert found, banner
        password = found.group(1)
        first_job = re.search(r"first model is training .*\(job ([0-9a-f-]+)\)", banner)
        assert first_job, banner

        with httpx.Client(base_url=run.api, timeout=30) as client:
            _login(client, password)
            trained = _wait_for_job(client, first_job.group(1), FIRST_MODEL_TIMEOUT)
            first_model_seconds = time.monotonic() - run.started
            assert trained["status"] == "succeeded", trained
            print(f"\nfirst model {first_model_seconds:.1f} s after the start")

            answer = client.post("/v1/predictions", json={"instances": [INSTANCE]})
            assert answer.status_code == 200, answer.text
            assert answer.json()["model_version"] == 1
            assert answer.json()["predictions"][0]["price"] > 0

            datasets = {d["name"]: d["uri"] for d in client.get("/v1/datasets").json()}
            batch_uri = datasets["demo-batch"]
            submitted = client.post("/v1/jobs/batch-inference", json={"input_data": batch_uri})
            assert submitted.status_code == 202, submitted.text
            batch = _wait_for_job(client, submitted.json()["id"], 60)
            assert batch["status"] == "succeeded", batch
            assert batch["result"]["rows"] > 0  # type: ignore[index]

        # Flower sees both workers over the embedded broker.
        flower_password = re.search(r"Flower .*password (\S+)\)", banner)
        assert flower_password, banner
        workers = httpx.get(
            f"{run.flower}/api/workers?refresh=1", auth=("admin", flower_password[1]), timeout=10
        ).json()
        assert sorted(name.split("@")[0] for name in workers) == ["default", "training"]

        if shutil.which("curl") and shutil.which("python3"):
            last = _run_printed_curl_session(banner, tmp_path)
            rows = len((tmp_path / ".tasador" / "predictions.csv").read_text().splitlines()) - 1
            assert last.endswith(f"succeeded: {rows} rows in .tasador/predictions.csv"), last
            assert rows == batch["result"]["rows"]  # type: ignore[index]

        _stop_and_check_nothing_is_left(run)

        # A second start reuses the data: same admin, same model, no new demo.
        again = Standalone(data_dir, free_port(), free_port())
        run = again
        banner = again.wait_until_ready(START_TIMEOUT)
        assert password not in banner
        assert "Data from earlier runs is kept" in banner
        with httpx.Client(base_url=again.api, timeout=30) as client:
            _login(client, password)
            assert [m["version"] for m in client.get("/v1/models").json()] == [1]
            jobs = client.get("/v1/jobs", params={"kind": "training"}).json()["items"]
            assert len(jobs) == 1
        _stop_and_check_nothing_is_left(again)
    finally:
        run.kill()


def test_busy_api_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = ["--data-dir", str(tmp_path / "data"), "--api-port", str(port)]
        result = CliRunner().invoke(app, ["standalone", *options, "--flower-port", "0"])
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.output
    assert "--api-port" in result.output
    assert not (tmp_path / "data").exists()
