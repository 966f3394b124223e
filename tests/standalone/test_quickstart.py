"""The quickstart snippet: the README's is the banner's, and it never hangs."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from api.standalone.quickstart import QUICKSTART, exports
from tests.fixtures.server import LiveServer
from tests.perf.stack import free_port
from tests.standalone.process import clean_environment

ROOT = Path(__file__).resolve().parents[2]


def readme_quickstart() -> str:
    """The shell block of the README's Quickstart section, as written."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Quickstart") :]
    found = re.search(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert found, "no bash block in the README's Quickstart"
    return found.group(1)


def run_snippet(
    snippet: str, cwd: Path, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", snippet],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**clean_environment(), **env},
        check=False,
    )


def test_the_readme_quickstart_is_the_banner_snippet_character_for_character() -> None:
    assert readme_quickstart() == QUICKSTART


def test_without_a_password_it_stops_at_once_saying_so(tmp_path: Path) -> None:
    done = run_snippet(QUICKSTART, tmp_path, {"TASADOR_API": "http://127.0.0.1:9"})
    assert done.returncode != 0
    assert "set TASADOR_ADMIN_PASSWORD" in done.stderr


def test_with_no_api_listening_it_stops_within_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    line = exports(f"http://127.0.0.1:{free_port()}", "whatever-password")
    done = run_snippet(f"{line}\n{QUICKSTART}", tmp_path, {})
    assert done.returncode != 0
    assert time.monotonic() - started < 15
    assert "quickstart: cannot log in" in done.stderr


@pytest.mark.integration
def test_with_a_wrong_password_it_stops_within_seconds(
    live_server: LiveServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    line = exports(live_server.url, "not-the-admin-password")
    done = run_snippet(f"{line}\n{QUICKSTART}", tmp_path, {})
    assert done.returncode != 0, done.stdout
    assert time.monotonic() - started < 15
    assert "quickstart: cannot log in" in done.stderr
    assert "401" in done.stderr
