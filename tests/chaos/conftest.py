"""The chaos session: one cluster for every test, figures at the end, log tails on failure.

Not part of ``make test`` (``--ignore=tests/chaos`` in pyproject); ``make chaos``
runs it explicitly. ``TASADOR_CHAOS_KEEP=1`` keeps the cluster's logs.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.chaos.cluster import Cluster
from tests.chaos.jobs import submit, upload_csv, wait_job
from tests.chaos.results import RESULTS_FILE, Record, Results

RESULTS = Results()
_state: dict[str, Any] = {"cluster": None, "marks": {}}

# Tests that read what the whole session left behind run after all the others.
LAST = ("test_secrets.py",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: Path(str(item.fspath)).name in LAST)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    with Cluster() as started:
        _state["cluster"] = started
        RESULTS.context["jobs recovered by"] = (
            "a `tasador reaper` process (and any reaper inside the workers)"
            if started.reaper_process
            else "the workers' reaper threads (no `tasador reaper` command)"
        )
        try:
            yield started
        finally:
            _state["cluster"] = None


@pytest.fixture(scope="session")
def production(cluster: Cluster) -> dict[str, Any]:
    """A first model, trained by a job and promoted: batch jobs and predictions use it."""
    cluster.ensure_workers(1)
    uri, _ = upload_csv(cluster, 6000, seed=1, with_price=True)
    job = submit(
        cluster, "training", {"train_data": uri, "preset": "notebook", "promote": "always"}
    )
    done = wait_job(cluster, job["id"], 180)
    assert done["status"] == "succeeded", f"the first training job failed: {done}"
    result: dict[str, Any] = done["result"]
    return result


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Record:
    return RESULTS.record(request.node.name)


@pytest.fixture(autouse=True)
def _each_test(cluster: Cluster) -> Iterator[None]:
    """Note where each log ended (failures show only what the test added); heal after."""
    _state["marks"] = {log: log.stat().st_size for log in cluster.logs.glob("*.log")}
    yield
    cluster.heal()


# Successful requests (a test polling a job) would crowd out the lines that matter.
_ROUTINE = re.compile(
    r'^(?=.*"event": "request")(?=.*"status": 2\d\d)|^(?=.*\] request )(?=.*\bstatus=2\d\d\b)'
)


def _new_lines(log: Path, start: int, keep: int = 25, width: int = 300) -> list[str]:
    with log.open("rb") as handle:
        handle.seek(max(start, log.stat().st_size - 256 * 1024))
        lines = handle.read().decode(errors="replace").splitlines()
    return [line[:width] for line in lines if not _ROUTINE.search(line)][-keep:]


def _log_tails(cluster: Cluster) -> str:
    parts = []
    for log in sorted(cluster.logs.glob("*.log")):
        start = _state["marks"].get(log, 0)
        if log.stat().st_size > start:
            parts.append(f"--- {log.name} (last lines written during the test)")
            parts += _new_lines(log, start)
    return "\n".join(parts)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and report.failed):
        RESULTS.record(item.name).outcome = report.outcome
    cluster = _state["cluster"]
    if report.failed and cluster is not None:
        report.sections.append(("chaos logs", _log_tails(cluster)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS.records:
        return
    terminalreporter.section("chaos: observed recovery")
    terminalreporter.write_line(RESULTS.table())
    RESULTS.write()
    terminalreporter.write_line(f"(also in {RESULTS_FILE.name})")
