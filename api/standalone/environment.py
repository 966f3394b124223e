"""The settings every standalone process shares, decided once by the runner.

Children are configured only through ``TASADOR_*`` environment variables, as in
production, so the runner computes one environment and hands it to each. A value
the operator already set always wins: that is how a real database, broker or S3
replaces the embedded one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Loopback only: lets a developer receive webhooks on their own machine, while
# private networks stay refused as in production.
LOOPBACK_HOSTS = '["localhost", "127.0.0.0/8", "::1"]'


@dataclass(frozen=True)
class Layout:
    """Where the standalone runner keeps its files under the data directory."""

    data_dir: Path

    @property
    def logs(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run(self) -> Path:
        """Files that describe the running instance (ports, pids); rewritten each start."""
        return self.data_dir / "run"

    @property
    def state_file(self) -> Path:
        """Written once the first-start work is done; its absence means a fresh directory."""
        return self.data_dir / "standalone.json"

    @property
    def secrets_file(self) -> Path:
        return self.data_dir / "secrets.json"

    @property
    def broker_port_file(self) -> Path:
        return self.run / "broker.port"

    @property
    def pids_file(self) -> Path:
        return self.run / "pids.json"

    def create(self) -> None:
        for folder in (self.data_dir, self.logs, self.run):
            folder.mkdir(parents=True, exist_ok=True)
        for stale in (self.broker_port_file, self.pids_file):
            stale.unlink(missing_ok=True)


def load_or_create_secrets(layout: Layout) -> dict[str, str]:
    """Signing key and Flower password, generated on first start and kept.

    Keeping them means tokens stay valid across restarts and the Flower password
    printed once keeps working; generating them means no two installs share the
    public development defaults.
    """
    path = layout.secrets_file
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return stored
    created = {
        "secret_key": secrets.token_urlsafe(48),
        "flower_password": secrets.token_urlsafe(12),
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(created, indent=2), encoding="utf-8")
    return created


def wants_embedded_broker(environ: Mapping[str, str]) -> bool:
    return not environ.get("TASADOR_BROKER_URL")


def settings_environment(layout: Layout, environ: Mapping[str, str]) -> dict[str, str]:
    """The ``TASADOR_*`` values to add to ``environ`` (never overriding one it has)."""
    stored = load_or_create_secrets(layout)
    s3_configured = bool(environ.get("TASADOR_S3_ENDPOINT_URL"))
    defaults = {
        "TASADOR_DATA_DIR": str(layout.data_dir),
        "TASADOR_STORAGE_BACKEND": "s3" if s3_configured else "local",
        "TASADOR_WEBHOOK_ALLOW_HTTP": "true",
        "TASADOR_WEBHOOK_ALLOWED_HOSTS": LOOPBACK_HOSTS,
        "TASADOR_SECRET_KEY": stored["secret_key"],
        "TASADOR_FLOWER_PASSWORD": stored["flower_password"],
        # Children log to files that people read; JSON suits collectors, not eyes.
        "TASADOR_LOG_FORMAT": "text",
    }
    # The data directory is fixed by the runner's option, which already took
    # TASADOR_DATA_DIR into account, so it is always set.
    added = {"TASADOR_DATA_DIR": defaults.pop("TASADOR_DATA_DIR")}
    added.update({name: value for name, value in defaults.items() if not environ.get(name)})
    return added


def broker_environment(port: int, environ: Mapping[str, str]) -> dict[str, str]:
    """Point the broker (and the Redis URL metrics read) at the embedded broker."""
    added = {"TASADOR_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    if not environ.get("TASADOR_REDIS_URL"):
        added["TASADOR_REDIS_URL"] = f"redis://127.0.0.1:{port}/1"
    return added


def apply(added: Mapping[str, str]) -> None:
    """Make this process see ``added`` too and forget settings read before."""
    os.environ.update(added)
    from api.config import get_settings
    from api.db.engine import dispose_engine
    from api.queue import reset_producer
    from api.storage.factory import reset_store

    get_settings.cache_clear()
    dispose_engine()
    reset_producer()
    reset_store()
