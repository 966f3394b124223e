"""Shared data for the offline CLI tests: synthetic CSVs and one trained model.

The CLI runs in-process through Typer's runner (a subprocess would pay ~4 s of
imports per call); ``test_installed_script_writes_the_same_file`` runs the installed
``tasador`` script once to cover the real entry point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from api.cli import app

TRAIN_ROWS, TEST_ROWS = 2000, 500
# Few stages keep each fit well under a second; the CLI's behaviour does not
# depend on the number of stages.
QUICK = ["--param", "n_estimators=20", "--param", "loss=huber"]


def tasador(*args: str | Path | int) -> Result:
    """Run ``tasador ARGS`` in-process; stdout and stderr stay apart."""
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@dataclass(frozen=True)
class Data:
    folder: Path
    train: Path
    test: Path


@dataclass(frozen=True)
class Trained:
    model: Path
    report: dict[str, Any]


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    folder = tmp_path_factory.mktemp("cli-data")
    train, test = folder / "train.csv", folder / "test.csv"
    for path, rows, seed in ((train, TRAIN_ROWS, 1), (test, TEST_ROWS, 2)):
        result = tasador("data", "synth", "--rows", rows, "--seed", seed, "--output", path)
        assert result.exit_code == 0, result.output
    return Data(folder, train, test)


@pytest.fixture(scope="session")
def trained(data: Data) -> Trained:
    """The notebook preset with overrides, evaluated on the separate test file."""
    model = data.folder / "model.tsm"
    result = tasador(
        "model", "train", "--train-data", data.train, "--test-data", data.test,
        "--preset", "notebook", *QUICK, "--output", model,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return Trained(model, json.loads(result.stdout))
