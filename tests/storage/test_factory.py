"""Choosing the store from settings, and the CLI's path-or-URI helpers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.config import Settings
from api.storage import (
    InvalidUri,
    LocalStore,
    ObjectNotFound,
    S3Store,
    get_store,
    open_input,
    open_output,
    reset_store,
)


def test_local_backend_is_ready_on_a_fresh_data_dir(tmp_path: Path) -> None:
    settings = Settings(storage_backend="local", data_dir=tmp_path, bucket="tasador")
    store = get_store(settings)
    assert isinstance(store, LocalStore)
    assert store.root == (tmp_path / "objects").resolve()
    assert store.readiness_check() is None
    store.put_bytes("s3://tasador/hello.txt", b"hi")
    assert (tmp_path / "objects" / "tasador" / "hello.txt").read_bytes() == b"hi"


def test_store_is_built_once_until_reset(tmp_path: Path) -> None:
    settings = Settings(storage_backend="local", data_dir=tmp_path)
    first = get_store(settings)
    assert get_store(settings) is first
    reset_store()
    assert get_store(settings) is not first


def test_changed_settings_give_a_matching_store(tmp_path: Path) -> None:
    one = get_store(Settings(storage_backend="local", data_dir=tmp_path / "one"))
    two = get_store(Settings(storage_backend="local", data_dir=tmp_path / "two"))
    assert isinstance(one, LocalStore) and isinstance(two, LocalStore)
    assert one.root != two.root


def test_s3_settings_switch_the_application_to_s3(s3_settings: Settings) -> None:
    store = get_store()
    assert isinstance(store, S3Store)
    assert store.endpoint_url == s3_settings.s3_endpoint_url
    assert store.readiness_check() is None
    store.put_bytes("s3://tasador/from-app.txt", b"via settings")
    with open_input("s3://tasador/from-app.txt") as src:
        assert src.read() == b"via settings"


def test_cli_paths_and_uris_are_read_and_written_alike(
    s3_settings: Settings, tmp_path: Path
) -> None:
    local_file = tmp_path / "predictions.csv"
    for target in (str(local_file), "s3://tasador/out/predictions.csv"):
        with open_output(target) as out:
            out.write(b"price\n1000\n")
        with open_input(target) as src:
            assert src.read() == b"price\n1000\n"


def test_failed_output_to_a_path_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "predictions.csv"
    with pytest.raises(RuntimeError), open_output(target) as out:
        out.write(b"price\n")
        raise RuntimeError("model crashed")
    assert list(tmp_path.iterdir()) == []


def test_missing_input_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    with pytest.raises(ObjectNotFound, match=r"file not found: .*nope\.csv"), open_input(missing):
        pass


def test_output_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ObjectNotFound, match="does not exist"):
        open_output(tmp_path / "no-folder" / "out.csv")


def test_unsupported_scheme_is_refused() -> None:
    with pytest.raises(InvalidUri, match="unsupported scheme 'gs'"), open_input("gs://b/k.csv"):
        pass


def test_a_subprocess_reaches_the_same_s3_through_the_environment(s3_settings: Settings) -> None:
    # What a Celery worker started by an integration test relies on.
    get_store().put_bytes("s3://tasador/shared.txt", b"seen by the child")
    code = (
        "from api.storage import get_store, S3Store\n"
        "store = get_store()\n"
        "assert isinstance(store, S3Store), store\n"
        "print(store.get_bytes('s3://tasador/shared.txt').decode())\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "seen by the child"
