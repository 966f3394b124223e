"""/docs and /redoc render in a headless browser that cannot reach the internet.

Chromium is pointed at a proxy that does not exist, so every address but the
service's own (on the loopback interface, which Chromium never proxies) fails to
load. The pages must still build the interactive reference: operations that
only the scripts write into the page must be in its final DOM. Skipped where no
headless Chromium is installed (Debian: ``apt-get install chromium-headless-shell``);
``tests/test_docs_pages.py`` checks the same pages without a browser.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from api.main import create_app
from tests.fixtures.server import LiveServer

BROWSERS = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
BROWSER = next((path for name in BROWSERS if (path := shutil.which(name))), None)
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing listens, every request fails

pytestmark = pytest.mark.skipif(BROWSER is None, reason="no headless Chromium installed")


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    with LiveServer(create_app(), lifespan="off") as server:
        yield server.url


def rendered(url: str) -> str:
    """The page's DOM once its scripts have run, with no network but loopback."""
    assert BROWSER is not None
    command = [
        BROWSER,
        "--headless",
        "--no-sandbox",  # the tests may run as root
        "--disable-gpu",
        f"--proxy-server={NOWHERE}",
        "--virtual-time-budget=20000",  # let the scripts fetch the spec and render
        "--dump-dom",
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def test_swagger_ui_renders_every_operation_offline(service: str) -> None:
    dom = rendered(f"{service}/docs")
    for path in ("/v1/auth/token", "/v1/jobs/training", "/v1/predictions", "/readyz"):
        assert f'data-path="{path}"' in dom, f"{path} is not on the rendered page"


def test_redoc_renders_the_reference_offline(service: str) -> None:
    dom = rendered(f"{service}/redoc")
    # ReDoc writes each operation's path into the page; on an error it shows none.
    for path in ("/v1/jobs/training", "/v1/predictions", "/v1/models/aliases/{alias}"):
        assert path in dom, f"{path} is not on the rendered page"
    assert "Something went wrong" not in dom
