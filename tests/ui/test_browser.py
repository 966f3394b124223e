"""The pages in a real headless Chromium, against a real server, worker, Postgres and S3.

One walk through the interface as a data scientist would take it: sign in,
watch two training jobs go from queued to succeeded without reloading, open
the models table, a version page whose charts load, the comparison of the two
versions, value a flat with the prediction form, and move production to the
newer version through the confirmation page. Every resource the pages
load comes from the service itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from api.auth.passwords import hash_password
from api.db.session import session_scope
from api.db.tables.user import User
from api.ml.charts import CHART_NAMES
from api.ml.synth import generate
from tests.fixtures.server import LiveServer
from tests.fixtures.worker import Worker
from tests.jobs.conftest import FAST_PARAMS, csv_bytes
from tests.ui.browser import chromium

pytestmark = pytest.mark.integration
PASSWORD = "a browser's long password"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def admin(live_server: LiveServer) -> tuple[str, dict[str, str]]:
    """A committed admin (a worker process must see it): username and bearer headers."""
    username = f"ui-admin-{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        session.add(User(username=username, password_hash=hash_password(PASSWORD), role="admin"))
    with TestClient(live_server.app) as client:
        token = client.post("/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return username, {"Authorization": f"Bearer {token.json()['access_token']}"}


def _submit_training(server: LiveServer, headers: dict[str, str], seed: int) -> str:
    with TestClient(server.app) as client:
        files = {"file": ("homes.csv", csv_bytes(generate(800, seed=seed)), "text/csv")}
        uploaded = client.post("/v1/datasets", files=files, headers=headers)
        assert uploaded.status_code == 201, uploaded.text
        body = {"train_data": uploaded.json()["uri"], "params": FAST_PARAMS}
        job = client.post("/v1/jobs/training", json=body, headers=headers)
        assert job.status_code == 202, job.text
        return str(job.json()["id"])


def _wait(driver: WebDriver, what: Callable[[WebDriver], Any], timeout: float = 90) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(what)


def _sign_in(driver: WebDriver, base: str, username: str, next_path: str) -> None:
    driver.get(f"{base}{next_path}")  # no session yet: the login form, remembering the page
    _wait(driver, lambda d: "/ui/login" in d.current_url)
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    _wait(driver, lambda d: d.current_url == f"{base}{next_path}")


def _offsite_resources(driver: WebDriver, base: str) -> list[str]:
    names = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    return [name for name in names if not str(name).startswith(base)]


def test_a_data_scientist_signs_in_watches_jobs_and_reads_the_evidence(
    live_server: LiveServer,
    admin: tuple[str, dict[str, str]],
    start_worker: Callable[..., Worker],
    browser: WebDriver,
) -> None:
    base = live_server.url
    username, headers = admin
    first = _submit_training(live_server, headers, seed=1)
    second = _submit_training(live_server, headers, seed=2)

    # The job page while no worker runs: queued. The page is never reloaded after this.
    _sign_in(browser, base, username, f"/ui/jobs/{first}")
    assert browser.find_element(By.ID, "job-status").text == "queued"
    browser.execute_script("window.stillTheSamePage = true")
    start_worker(queues="training", concurrency=1)
    _wait(browser, lambda d: d.find_element(By.ID, "job-status").text == "succeeded")
    assert browser.execute_script("return window.stillTheSamePage") is True
    assert browser.find_element(By.ID, "job-percent").text == "100%"
    assert browser.find_element(By.ID, "job-reload").is_displayed()

    # The jobs list shows both, and follows the second one to its end without a reload.
    browser.get(f"{base}/ui/jobs")
    browser.execute_script("window.stillTheSamePage = true")

    def statuses(d: WebDriver) -> list[str]:
        return [e.text for e in d.find_elements(By.CSS_SELECTOR, "#jobs .status")]

    _wait(browser, lambda d: statuses(d) == ["succeeded", "succeeded"])
    assert browser.execute_script("return window.stillTheSamePage") is True
    assert second[:8] in browser.page_source

    # The models table: two versions, the first one in production.
    browser.get(f"{base}/ui/models")
    rows = browser.find_elements(By.CSS_SELECTOR, "#models tbody tr")
    assert len(rows) == 2
    assert browser.find_elements(By.CSS_SELECTOR, "#models tr.production")
    versions = [
        int(link.text.lstrip("v"))
        for link in browser.find_elements(By.CSS_SELECTOR, "#models tbody td:first-child a")
    ]
    newer, older = max(versions), min(versions)

    # A version page whose five charts load (drawn right after the version was
    # registered: a page opened before that shows them once reloaded).
    def charts_drawn(driver: WebDriver) -> bool:
        driver.get(f"{base}/ui/models/{newer}")
        charts = driver.find_elements(By.CSS_SELECTOR, "img.chart")
        assert len(charts) == len(CHART_NAMES)
        complete = "return arguments[0].complete"
        _wait(driver, lambda d: all(d.execute_script(complete, c) is True for c in charts))
        width = "return arguments[0].naturalWidth"
        return all(driver.execute_script(width, c) > 0 for c in charts)

    _wait(browser, charts_drawn, timeout=20)
    assert _offsite_resources(browser, base) == []

    # The two versions side by side: each metric, each chart for both.
    browser.get(f"{base}/ui/models/compare?a={older}&b={newer}")
    table = browser.find_element(By.ID, "comparison").text
    assert "RMSE" in table and "Within ±10 %" in table
    pairs = browser.find_elements(By.CSS_SELECTOR, ".pair img.chart")
    assert len(pairs) == 2 * len(CHART_NAMES)
    _wait(
        browser,
        lambda d: all(d.execute_script("return arguments[0].naturalWidth", i) > 0 for i in pairs),
    )

    # Value a flat with the form.
    browser.get(f"{base}/ui/predict")
    area = browser.find_element(By.ID, "net_usable_area")
    area.clear()
    area.send_keys("95")
    browser.find_element(By.ID, "value-it").click()
    price = _wait(browser, lambda d: d.find_elements(By.ID, "price"))[0]
    assert price.text.endswith("UF") and float(price.text.split()[0].replace(",", "")) > 0

    # An admin moves production to the newer version, through the confirmation.
    browser.get(f"{base}/ui/admin/aliases")
    version_field = browser.find_element(By.ID, "version")
    version_field.send_keys(str(newer))
    browser.find_element(By.ID, "review-move").click()
    confirm = _wait(browser, lambda d: d.find_elements(By.ID, "confirm-move"))[0]
    assert f"v{older} (now)" in browser.find_element(By.ID, "move-comparison").text
    confirm.click()
    # The confirmation page has the same address: wait for the trail the redirect shows.
    trail = _wait(browser, lambda d: d.find_elements(By.ID, "alias-events"))[0].text
    assert f"v{older} v{newer} {username} ui" in trail
    browser.get(f"{base}/ui/models")
    production = browser.find_element(By.CSS_SELECTOR, "#models tr.production a").text
    assert production == f"v{newer}"

    assert _offsite_resources(browser, base) == []
