"""After every other test: no secret the suite used appears in any log file.

The suite gives every process real secrets (database and Redis passwords, the
signing key, the admin password, Flower's password, the metrics token, the S3
secret key) and uses real credentials (access and refresh tokens, an API key,
the webhook secret). Its tests provoke errors, tracebacks and outages in both
log formats; none of that may write one of them to a log.
"""

from __future__ import annotations

from tests.chaos.cluster import Cluster
from tests.chaos.logs import secrets_found
from tests.chaos.results import Record


def test_no_secret_reaches_any_log_file(cluster: Cluster, record: Record) -> None:
    files = [p for p in cluster.logs.rglob("*") if p.is_file()]
    found = secrets_found(cluster.logs, cluster.secrets)
    record.figure("files", len(files))
    record.figure("megabytes", round(sum(p.stat().st_size for p in files) / 1e6, 2))
    record.figure("secrets", len(cluster.secrets))
    leaks = [f"{name} x{count} in {file}" for (name, file), count in found.items()]
    for leak in leaks:
        record.note(leak)
    assert not leaks, "secrets in the logs: " + "; ".join(leaks)
