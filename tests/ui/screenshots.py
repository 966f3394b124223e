"""``make screenshots``: every page of /ui at 1400 px wide, from a demo run, into docs/ui/.

Starts ``tasador standalone`` on a temporary data directory (its own SQLite,
object store and broker; nothing else is needed), lets its demo model train,
trains a second one and runs a batch job, then opens each page in headless
Chromium and saves it as ``docs/ui/<page>.png``. Run it again after changing
a page; the pictures are part of the documentation.

    python -m tests.ui.screenshots [OUTPUT_DIR]
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.perf.stack import free_port
from tests.standalone.process import ROOT, Standalone
from tests.ui.browser import WIDTH, chromium, missing_browser

MAX_HEIGHT = 3200
SECOND_MODEL = {"preset": "default", "params": {"n_estimators": 150, "max_depth": 5}}


def _wait_for_job(client: httpx.Client, job_id: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise RuntimeError(f"job {job_id} did not finish in {timeout} s")


def _shoot(driver: WebDriver, url: str | None, path: Path) -> None:
    """The page at ``url`` (None: the page as it is now), as tall as its content."""
    if url is not None:
        driver.set_window_size(WIDTH, 900)
        driver.get(url)
    time.sleep(0.3)  # images and the first poll of a job page
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(WIDTH, min(int(height), MAX_HEIGHT))
    time.sleep(0.2)
    driver.save_screenshot(str(path))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _demo(run: Standalone, password: str) -> dict[str, Any]:
    """Wait for the demo model, train a second, run a batch job; what the pages need."""
    first = re.search(r"\(job ([0-9a-f-]+)\)", run.output)
    if not first:
        raise RuntimeError(f"unexpected banner:\n{run.output}")
    with httpx.Client(base_url=run.api, timeout=60) as client:
        token = client.post("/v1/auth/token", data={"username": "admin", "password": password})
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        trained = _wait_for_job(client, first[1])
        train_uri = trained["request"]["train_data"]
        second = client.post("/v1/jobs/training", json={"train_data": train_uri, **SECOND_MODEL})
        _wait_for_job(client, second.json()["id"])
        datasets = client.get("/v1/datasets").json()
        batch_uri = next(d["uri"] for d in datasets if d["name"] == "demo-batch")
        batch = client.post("/v1/jobs/batch-inference", json={"input_data": batch_uri})
        _wait_for_job(client, batch.json()["id"])
        versions = sorted(m["version"] for m in client.get("/v1/models").json())
        return {"versions": versions, "batch_job": batch.json()["id"]}


def _sign_in(driver: WebDriver, base: str, password: str) -> None:
    driver.get(f"{base}/ui/login")
    driver.find_element(By.ID, "username").send_keys("admin")
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()
    time.sleep(0.5)


def main(output: Path) -> int:
    reason = missing_browser()
    if reason:
        print(f"no screenshots: {reason}", file=sys.stderr)
        return 1
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tasador-screenshots-") as data:
        run = Standalone(Path(data), free_port(), free_port())
        try:
            banner = run.wait_until_ready(120)
            found = re.search(r"admin / password (\S+)", banner)
            if not found:
                raise RuntimeError(f"no admin password in the banner:\n{banner}")
            password = found[1]
            print("training the demo models ...")
            demo = _demo(run, password)
            older, newer = demo["versions"][0], demo["versions"][-1]
            with chromium() as driver:
                base = run.api
                _shoot(driver, f"{base}/ui/login", output / "login.png")
                _sign_in(driver, base, password)
                pages = {
                    "models": "/ui/models",
                    "version": f"/ui/models/{newer}",
                    "compare": f"/ui/models/compare?a={older}&b={newer}",
                    "jobs": "/ui/jobs",
                    "job": f"/ui/jobs/{demo['batch_job']}",
                    "admin-users": "/ui/admin/users",
                    "admin-aliases": "/ui/admin/aliases",
                }
                for name, path in pages.items():
                    _shoot(driver, f"{base}{path}", output / f"{name}.png")
                driver.get(f"{base}/ui/predict")
                driver.find_element(By.ID, "value-it").click()
                _shoot(driver, None, output / "predict.png")
        finally:
            run.interrupt(timeout=60)
    return 0


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "ui"
    sys.exit(main(target.resolve()))
