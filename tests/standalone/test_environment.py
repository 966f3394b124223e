"""How the standalone runner decides the settings its processes share (no services)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from api.standalone.environment import (
    Layout,
    broker_environment,
    settings_environment,
    wants_embedded_broker,
)


def test_fresh_environment_gets_local_storage_loopback_webhooks_and_the_data_dir(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path)
    layout.create()
    added = settings_environment(layout, {})
    assert added["TASADOR_DATA_DIR"] == str(tmp_path)
    assert added["TASADOR_STORAGE_BACKEND"] == "local"
    assert added["TASADOR_WEBHOOK_ALLOW_HTTP"] == "true"
    assert "127.0.0.0/8" in json.loads(added["TASADOR_WEBHOOK_ALLOWED_HOSTS"])


def test_values_the_operator_set_are_never_overridden(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    operator = {
        "TASADOR_WEBHOOK_ALLOW_HTTP": "false",
        "TASADOR_SECRET_KEY": "operator-key",
        "TASADOR_STORAGE_BACKEND": "local",
        "TASADOR_S3_ENDPOINT_URL": "http://minio:9000",
    }
    added = settings_environment(layout, operator)
    assert not set(added) & set(operator)


def test_s3_endpoint_in_the_environment_selects_the_s3_backend(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    added = settings_environment(layout, {"TASADOR_S3_ENDPOINT_URL": "http://minio:9000"})
    assert added["TASADOR_STORAGE_BACKEND"] == "s3"


def test_signing_key_and_flower_password_are_generated_once_and_kept_private(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path)
    layout.create()
    first = settings_environment(layout, {})
    second = settings_environment(layout, {})
    assert first["TASADOR_SECRET_KEY"] == second["TASADOR_SECRET_KEY"]
    assert first["TASADOR_FLOWER_PASSWORD"] == second["TASADOR_FLOWER_PASSWORD"]
    assert len(first["TASADOR_SECRET_KEY"]) >= 32
    assert stat.S_IMODE(layout.secrets_file.stat().st_mode) == 0o600
    other = Layout(tmp_path / "other")
    other.create()
    assert settings_environment(other, {})["TASADOR_SECRET_KEY"] != first["TASADOR_SECRET_KEY"]


def test_broker_is_embedded_only_when_no_broker_url_is_given() -> None:
    assert wants_embedded_broker({})
    assert wants_embedded_broker({"TASADOR_BROKER_URL": ""})
    assert not wants_embedded_broker({"TASADOR_BROKER_URL": "redis://redis:6379/0"})


def test_embedded_broker_keeps_an_operator_redis_url_for_metrics() -> None:
    assert broker_environment(4321, {}) == {
        "TASADOR_BROKER_URL": "redis://127.0.0.1:4321/0",
        "TASADOR_REDIS_URL": "redis://127.0.0.1:4321/1",
    }
    kept = broker_environment(4321, {"TASADOR_REDIS_URL": "redis://cache:6379/1"})
    assert "TASADOR_REDIS_URL" not in kept
