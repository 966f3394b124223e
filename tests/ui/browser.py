"""A headless Debian Chromium driven over WebDriver, kept on this machine.

Chromium and ChromeDriver come from Debian's packages (``chromium``,
``chromium-driver``); ``tests/with-services.sh`` installs them when it runs as
root. Where they are missing, ``chromium_or_skip`` skips with the reason.

The browser may reach nothing but 127.0.0.1: every other host name resolves to
nothing (``--host-resolver-rules``) and Chromium's own background traffic
(updates, sync, safe browsing) is switched off, so a page that needed a CDN or
any other outside asset would visibly fail.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM: Final[str] = "/usr/bin/chromium"
CHROMEDRIVER: Final[str] = "/usr/bin/chromedriver"
WIDTH: Final[int] = 1400

FLAGS: Final[tuple[str, ...]] = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--force-device-scale-factor=1",
    "--hide-scrollbars",
    f"--window-size={WIDTH},1000",
)


def missing_browser() -> str | None:
    """Why no browser test can run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if shutil.which(path) is None:
            return f"{path} is not installed (Debian package {package}; run the tests as root "
            "through tests/with-services.sh to install it)"
    return None


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A WebDriver session on a fresh profile; skips the test when there is no browser."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    # Selenium's own helper never runs (both paths are given); should it, it stays offline.
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    profile = Path(tempfile.mkdtemp(prefix="tasador-chromium-"))
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
