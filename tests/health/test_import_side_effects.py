"""Importing the API and building the app touch no database.

Metric collectors are registered at import time; a registry that asks a
collector what it exports must not make it query. An engine built that early
would also be built before the app turns off the per-checkout ping, and every
request would pay a round trip for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json
import api.db.engine as engine
from api.main import create_app
from api.observability import REGISTRY

app = create_app()
built_at_import = engine._engine is not None
names = sorted(REGISTRY._names_to_collectors)
pre_ping = engine.get_engine().pool._pre_ping  # builds the engine now; still no connection
print(json.dumps({"built": built_at_import, "pre_ping": pre_ping, "names": names}))
"""


def test_importing_the_app_builds_no_engine_and_the_pool_does_not_ping() -> None:
    env = {
        **os.environ,
        # Nothing listens here: a query at import would fail or hang on connect.
        "TASADOR_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nothing",
        "TASADOR_BROKER_URL": "redis://127.0.0.1:9/0",
        "TASADOR_REDIS_URL": "redis://127.0.0.1:9/1",
        "TASADOR_ENV": "development",
    }
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "metrics_jobs_unavailable" not in done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["built"] is False
    assert seen["pre_ping"] is False
    assert {"tasador_jobs", "tasador_queue_depth", "tasador_log_lines_dropped"} <= set(
        seen["names"]
    )
