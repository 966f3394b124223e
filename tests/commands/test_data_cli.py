"""``tasador data synth``: synthetic CSVs with the client's columns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from api.config import Settings
from api.datasets.reading import summarise
from api.ml.schema import COLUMNS
from api.storage import get_store
from tests.commands.conftest import tasador

SCRIPT = Path(sys.executable).with_name("tasador")


def test_writes_the_requested_rows_with_the_client_columns(tmp_path: Path) -> None:
    target = tmp_path / "x.csv"
    result = tasador("data", "synth", "--rows", "2000", "--seed", "1", "--output", target)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(target)
    assert list(frame.columns) == COLUMNS
    assert len(frame) == 2000
    with target.open("rb") as stream:
        summary = summarise(stream, require_target=True)
    assert summary.rows == 2000 and summary.problem_count == 0  # clean by default


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    paths = {name: tmp_path / f"{name}.csv" for name in ("a", "b", "other")}
    for name, seed in (("a", 1), ("b", 1), ("other", 2)):
        result = tasador("data", "synth", "--rows", 2000, "--seed", seed, "--output", paths[name])
        assert result.exit_code == 0, result.output
    assert paths["a"].read_bytes() == paths["b"].read_bytes()
    assert paths["a"].read_bytes() != paths["other"].read_bytes()


def test_installed_script_writes_the_same_file(tmp_path: Path) -> None:
    if not SCRIPT.exists():
        pytest.skip(f"no installed tasador script beside {sys.executable}")
    via_script, in_process = tmp_path / "script.csv", tmp_path / "inproc.csv"
    args = ["data", "synth", "--rows", "300", "--seed", "7", "--chunk-rows", "100"]
    run = subprocess.run(
        [SCRIPT, *args, "--output", via_script], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert tasador(*args, "--output", in_process).exit_code == 0
    assert via_script.read_bytes() == in_process.read_bytes()


def test_dirty_fraction_produces_rows_validation_rejects(tmp_path: Path) -> None:
    target = tmp_path / "dirty.csv"
    result = tasador("data", "synth", "--rows", 1000, "--dirty-fraction", "0.1", "--output", target)
    assert result.exit_code == 0, result.output
    with target.open("rb") as stream:
        summary = summarise(stream, require_target=True)
    assert summary.rows == 1000
    assert 50 <= summary.problem_count <= 150


def test_writes_to_an_s3_uri(s3_settings: Settings, tmp_path: Path) -> None:
    uri = f"s3://{s3_settings.bucket}/synth/x.csv"
    assert tasador("data", "synth", "--rows", 500, "--seed", 3, "--output", uri).exit_code == 0
    local = tmp_path / "x.csv"
    assert tasador("data", "synth", "--rows", 500, "--seed", 3, "--output", local).exit_code == 0
    assert get_store().get_bytes(uri) == local.read_bytes()


def test_missing_folder_exits_1_with_a_message_not_a_traceback(tmp_path: Path) -> None:
    target = tmp_path / "absent" / "x.csv"
    result = tasador("data", "synth", "--rows", 10, "--output", target)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert str(target.parent) in result.stderr
    assert "Traceback" not in result.output


def test_unsupported_scheme_exits_2(tmp_path: Path) -> None:
    result = tasador("data", "synth", "--rows", 10, "--output", "ftp://host/x.csv")
    assert result.exit_code == 2
    assert "ftp" in result.stderr


def test_negative_seed_is_refused_as_usage_error(tmp_path: Path) -> None:
    result = tasador("data", "synth", "--seed", "-1", "--output", tmp_path / "x.csv")
    assert result.exit_code == 2
    assert "--seed" in result.stderr
    assert not (tmp_path / "x.csv").exists()
