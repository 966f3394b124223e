"""Consistency of ``compose.yaml`` with the code and with ``.env.example``.

Docker cannot run here, so these tests do not start the stack: they check that
the file is consistent with the code it runs. Every command of our image must
be a real ``tasador`` sub-command with real options, every ``TASADOR_*``
variable a real setting (and the values accepted by the settings' production
checks), every service ARCHITECTURE.md promises present, start-up ordered by
health and completion conditions, and every ``${VAR}`` defined. Whether the
images build and the containers become healthy is only known by running
``docker compose up``.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from typer.testing import CliRunner

from api.cli import app
from api.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
OUR_IMAGE = [name for name, spec in SERVICES.items() if "build" in spec]
# ${VAR}, ${VAR:-default}, ${VAR:?error}; "$${...}" is an escaped, container-side "$".
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
ESCAPED = re.compile(r"\$\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ONE_SHOT = {"no", None}  # restart policies under which a container may finish


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _tasador_invocations(spec: dict[str, Any]) -> list[list[str]]:
    """Each ``tasador ...`` argument list a service runs (``sh -c`` chains split)."""
    command = spec["command"]
    argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


INVOCATIONS = [
    pytest.param(argv, id=f"{service}: {' '.join(argv[:3])}")
    for service in OUR_IMAGE
    for argv in _tasador_invocations(SERVICES[service])
]


@pytest.mark.parametrize("argv", INVOCATIONS)
def test_image_commands_are_real_tasador_commands_with_real_options(argv: list[str]) -> None:
    assert argv[0] == "tasador", f"{argv}: our image's entry point is the tasador command"
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    while hasattr(command, "commands"):  # a group: the next word must name a sub-command
        word = argv[1 + len(path)] if len(argv) > 1 + len(path) else "(nothing)"
        assert word in command.commands, f"{argv}: {word!r} is no sub-command of {path}"
        command = command.commands[word]
        path.append(word)
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    # Parse (without running) the exact arguments: unknown options or bad values fail.
    command.make_context(" ".join(["tasador", *path]), argv[1 + len(path) :])


def test_every_tasador_variable_is_a_setting() -> None:
    fields = {name.lower() for name in Settings.model_fields}
    places = [("x-tasador-env", COMPOSE["x-tasador-env"])]
    places += [(name, _environment(spec)) for name, spec in SERVICES.items()]
    for place, env in places:
        for name in env:
            if name.upper().startswith("TASADOR_"):
                assert name[len("TASADOR_") :].lower() in fields, f"{place}: {name} is no setting"


def test_compose_environment_passes_the_production_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """With every ${VAR} filled in, the settings load (types, literals, production rules)."""

    def fill(match: re.Match[str]) -> str:
        return match.group(3) if match.group(2) in (":-", "-") else "x" * 40

    for name in list(os.environ):
        if name.startswith("TASADOR_"):
            monkeypatch.delenv(name)
    for name, value in COMPOSE["x-tasador-env"].items():
        monkeypatch.setenv(name, INTERPOLATION.sub(fill, str(value)))
    settings = Settings()
    assert settings.env == "production"
    assert settings.storage_backend == "s3"
    assert settings.database_url.startswith("postgresql")


def test_services_of_the_architecture_exist() -> None:
    assert {"postgres", "redis", "minio", "migrate", "api", "reaper", "flower"} <= set(SERVICES)
    redis_command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in redis_command

    bucket = COMPOSE["x-tasador-env"]["TASADOR_BUCKET"]
    init = [n for n, s in SERVICES.items() if "mc mb" in " ".join(_strings(s.get("command")))]
    assert len(init) == 1, "one one-shot service creates the bucket"
    assert SERVICES[init[0]].get("restart") in ONE_SHOT
    assert f"local/{bucket}" in " ".join(_strings(SERVICES[init[0]]["command"]))
    assert SERVICES["migrate"].get("restart") in ONE_SHOT

    training = SERVICES["worker-training"]["command"]
    assert training[:2] == ["tasador", "worker"]
    assert _option(training, "--queues") == "training"
    assert _option(training, "--concurrency") == "1"
    default = SERVICES["worker-default"]["command"]
    assert default[:2] == ["tasador", "worker"]
    assert set(_option(default, "--queues").split(",")) == {"inference", "webhooks"}
    assert SERVICES["api"]["command"][:2] == ["tasador", "serve"]
    assert SERVICES["flower"]["command"][:2] == ["tasador", "flower"]
    # Recovery must not depend on a worker being alive.
    assert SERVICES["reaper"]["command"] == ["tasador", "reaper"]
    assert SERVICES["reaper"].get("restart") not in ONE_SHOT


def test_start_order_uses_health_and_completion_conditions() -> None:
    for name, spec in SERVICES.items():
        depends = spec.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions, not a list"
        for target, rule in depends.items():
            condition = rule.get("condition")
            if condition == "service_healthy":
                check = SERVICES[target].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert SERVICES[target].get("restart") in ONE_SHOT, f"{target} never completes"
            else:
                pytest.fail(f"{name} -> {target}: condition {condition!r}")
    for name in OUR_IMAGE:
        if name != "migrate":
            assert "migrate" in SERVICES[name]["depends_on"], f"{name} may start before migrations"


def test_every_interpolated_variable_is_defined_or_defaulted() -> None:
    example = _env_example()
    for text in _strings(COMPOSE):
        for name, operator, _ in INTERPOLATION.findall(text):
            if operator not in (":-", "-"):
                assert name in example, f"${{{name}}} is neither in .env.example nor defaulted"


def test_secrets_are_required_and_left_empty_in_the_example() -> None:
    """A copied .env.example must not start a stack with publicly known secrets."""
    example = _env_example()
    for text in _strings(COMPOSE):
        for name, operator, _ in INTERPOLATION.findall(text):
            if re.search(r"PASSWORD|SECRET", name):
                assert operator == ":?", f"${{{name}}} must be required (${{{name}:?...}})"
                assert example[name] == "", f"{name} has a value in .env.example"


def test_container_side_variables_are_set_in_that_container() -> None:
    for name, spec in SERVICES.items():
        env = _environment(spec)
        for text in _strings(spec.get("command")):
            for variable in ESCAPED.findall(text):
                assert variable in env, f"{name}: $${{{variable}}} is not in its environment"
