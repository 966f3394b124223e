"""Issue 12, item 10 (CLI): ``tasador model predict`` checks an artifact's signature first.

The attack: the offline CLI unpickled any file given as ``--model``, so a
crafted model ran its own code on the operator's machine. Here the crafted
model would create a marker file when unpickled; the marker must not appear.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest

from api.config import get_settings
from api.ml import artifact as artifacts
from tests.commands.conftest import QUICK, Data, Trained, tasador

OTHER_KEY = b"a-key-that-is-not-the-service-key-0123456789"


class Payload:
    """Unpickling this creates ``path``: proof that a pickle's code ran."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, int]]:
        return (os.open, (str(self.path), os.O_CREAT | os.O_WRONLY))


def _metadata(trained: Trained) -> bytes:
    with zipfile.ZipFile(trained.model) as archive:
        return archive.read("metadata.json")


def _crafted(trained: Trained, marker: Path, key: bytes | None) -> bytes:
    """A valid-looking artifact whose pickle runs code, signed with ``key`` (or unsigned)."""
    out = io.BytesIO()
    artifacts.write_members(out, _metadata(trained), pickle.dumps(Payload(marker)), key)
    return out.getvalue()


def _predict(model: Path, data: Data, folder: Path, *extra: str) -> tuple[int, str, Path]:
    output = folder / "predicted.csv"
    result = tasador(
        "model", "predict", "--model", model, "--input", data.test, "--output", output, *extra
    )
    return result.exit_code, result.stderr, output


def test_a_model_trained_by_the_cli_is_signed_and_predicts(
    data: Data,
    trained: Trained,
    tmp_path: Path,
) -> None:
    with zipfile.ZipFile(trained.model) as archive:
        assert "signature" in archive.namelist()
    code, stderr, output = _predict(trained.model, data, tmp_path)
    assert code == 0, stderr
    assert output.exists()


@pytest.mark.parametrize("key", [OTHER_KEY, None], ids=["signed-with-another-key", "unsigned"])
def test_a_crafted_model_is_refused_before_its_code_runs(
    data: Data,
    trained: Trained,
    tmp_path: Path,
    key: bytes | None,
) -> None:
    marker = tmp_path / "pwned"
    model = tmp_path / "crafted.tsm"
    model.write_bytes(_crafted(trained, marker, key))
    code, stderr, output = _predict(model, data, tmp_path)
    assert code == 2
    assert "signature" in stderr or "not signed" in stderr
    assert "TASADOR_SECRET_KEY" in stderr and "--unsigned" in stderr
    assert not marker.exists(), "the crafted pickle ran"
    assert not output.exists()


def test_the_crafted_model_does_run_code_when_the_check_is_skipped(
    data: Data, trained: Trained, tmp_path: Path
) -> None:
    """What the refusal above prevents: with --unsigned the pickle runs."""
    marker = tmp_path / "pwned"
    model = tmp_path / "crafted.tsm"
    model.write_bytes(_crafted(trained, marker, None))
    _predict(model, data, tmp_path, "--unsigned")
    assert marker.exists()


def test_a_model_edited_after_signing_is_refused(
    data: Data,
    trained: Trained,
    tmp_path: Path,
) -> None:
    meta = json.loads(_metadata(trained))
    meta["metrics"]["rmse"] = 0.0  # a better-looking model
    with zipfile.ZipFile(trained.model) as archive:
        model_bytes, signature = archive.read("model.pkl"), archive.read("signature")
    edited = tmp_path / "edited.tsm"
    with zipfile.ZipFile(edited, "w") as archive:
        archive.writestr("metadata.json", json.dumps(meta))
        archive.writestr("model.pkl", model_bytes)
        archive.writestr("signature", signature)
    code, stderr, output = _predict(edited, data, tmp_path)
    assert code == 2 and "signature does not match" in stderr
    assert not output.exists()


def test_unsigned_loads_a_trusted_unsigned_model(
    data: Data,
    trained: Trained,
    tmp_path: Path,
) -> None:
    unsigned = tmp_path / "unsigned.tsm"
    with zipfile.ZipFile(trained.model) as archive:
        meta, model_bytes = archive.read("metadata.json"), archive.read("model.pkl")
    with unsigned.open("wb") as out:
        artifacts.write_members(out, meta, model_bytes, None)
    assert _predict(unsigned, data, tmp_path)[0] == 2
    code, stderr, output = _predict(unsigned, data, tmp_path, "--unsigned")
    assert code == 0, stderr
    assert output.exists()


def test_a_model_signed_with_another_service_key_needs_that_key(
    data: Data,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = tmp_path / "elsewhere.tsm"
    monkeypatch.setenv("TASADOR_SECRET_KEY", OTHER_KEY.decode())
    get_settings.cache_clear()
    try:
        trained_elsewhere = tasador(
            "model", "train", "--train-data", data.train, "--preset", "notebook", *QUICK,
            "--output", model,
        )  # fmt: skip
        assert trained_elsewhere.exit_code == 0, trained_elsewhere.output
        assert _predict(model, data, tmp_path)[0] == 0  # same key: accepted
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    code, stderr, _ = _predict(model, data, tmp_path)  # the default key: refused
    assert code == 2 and "signature does not match" in stderr
