"""The checks a contributor runs are the checks CI runs.

``make lint`` is the definition; ``.ci/run`` must call it before the tests, and
the pre-commit hooks must run the same commands, so a commit that passes its
hooks does not fail CI's lint step.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def make_recipe(target: str) -> list[str]:
    """The commands of a Makefile target, with $(BIN) spelled out."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n?)+)", text, re.MULTILINE)
    assert match, f"no target {target!r} in the Makefile"
    return [line.strip().replace("$(BIN)", ".venv/bin") for line in match.group(1).splitlines()]


def test_pre_commit_runs_exactly_the_linters_of_make_lint() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert all(repo["repo"] == "local" for repo in config["repos"]), "hooks must not download"
    assert all(hook["language"] == "system" for hook in hooks)
    # Over the whole tree, like make lint: mypy and lint-imports need every module.
    assert all(hook["pass_filenames"] is False for hook in hooks)
    assert [hook["entry"] for hook in hooks] == make_recipe("lint")


def test_ci_runs_the_linters_before_the_tests() -> None:
    steps = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip().startswith("make ")
    ]
    assert "make lint" in steps and "make test" in steps
    assert steps.index("make lint") < steps.index("make test")


def test_type_checking_covers_the_tests() -> None:
    recipe = make_recipe("lint")
    assert ".venv/bin/mypy" in recipe
    config = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"^\[tool\.mypy\][^\[]*?^packages = \[([^\]]*)\]", config, re.M | re.S)
    assert packages and '"tests"' in packages.group(1)


def test_test_fast_starts_no_service() -> None:
    (command,) = make_recipe("test-fast")
    assert "with-services" not in command and '-m "not services"' in command
