"""The image's Dockerfile: a non-root user, a healthcheck, cached dependency layer.

Docker cannot run here: these tests read the file and check its instructions
against each other and against compose.yaml and pyproject.toml, not a build.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def _index(predicate: str, instructions: list[tuple[str, str]]) -> int:
    for i, (keyword, rest) in enumerate(instructions):
        if re.search(predicate, f"{keyword} {rest}"):
            return i
    raise AssertionError(f"no instruction matches {predicate!r}")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_runs_as_a_non_root_user() -> None:
    users = [rest.split(":")[0] for keyword, rest in _instructions() if keyword == "USER"]
    assert users, "no USER instruction: the container would run as root"
    assert users[-1] not in {"root", "0"}


def test_healthcheck_probes_the_api_port_compose_serves_on() -> None:
    checks = [rest for keyword, rest in _instructions() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1 and not checks[0].upper().startswith("NONE")
    probed = re.search(r"127\.0\.0\.1:(\d+)/healthz", checks[0])
    assert probed, checks[0]
    api = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["api"]["command"]
    assert api[api.index("--port") + 1] == probed.group(1)


def test_dependencies_come_from_constraints_before_the_source() -> None:
    instructions = _instructions()
    copy_constraints = _index(r"^COPY .*constraints\.txt", instructions)
    install = _index(r"^RUN .*pip install .*-c constraints\.txt", instructions)
    first_source = _index(r"^COPY (api|worker|migrations|\.)\b", instructions)
    assert copy_constraints < install < first_source


def test_every_runtime_dependency_is_pinned_in_constraints() -> None:
    """The image installs pyproject's dependencies under constraints.txt: each needs a pin,
    or the build would take whatever version is newest that day."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pinned = {
        _normalised(line.split("==")[0])
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    for requirement in project["dependencies"]:
        name = _normalised(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0])
        assert name in pinned, f"{requirement} has no pin in constraints.txt"


def test_default_command_is_the_api() -> None:
    command = [rest for keyword, rest in _instructions() if keyword == "CMD"][-1]
    argv = yaml.safe_load(command) if command.startswith("[") else shlex.split(command)
    assert argv[:2] == ["tasador", "serve"]


def _names(requirements: list[str]) -> set[str]:
    return {_normalised(re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0]) for r in requirements}


def test_the_image_leaves_out_development_and_standalone_packages() -> None:
    """Tools for tests and linting, and the standalone mode's embedded broker, are
    extras of the package; the image installs pyproject's dependencies alone."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = _names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert "fakeredis" in _names(extras["standalone"])
    assert {"pytest", "moto", "mypy"} <= _names(extras["dev"])
    for extra in ("dev", "standalone"):
        assert runtime.isdisjoint(_names(extras[extra])), f"a {extra} package is a runtime one"
    installs = [rest for keyword, rest in _instructions() if keyword == "RUN" and "pip" in rest]
    assert installs, "the image installs nothing"
    for command in installs:
        assert "optional-dependencies" not in command and ".[" not in command, command
    assert any("['project']['dependencies']" in command for command in installs), installs


def test_the_package_carries_every_template_and_static_file_of_the_pages() -> None:
    # The image installs the package as a wheel, which holds only the files
    # package-data names besides the Python modules.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["api.ui"]
    package = ROOT / "api" / "ui"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    needed = {p for folder in ("templates", "static") for p in (package / folder).iterdir()}
    assert needed and needed <= shipped
