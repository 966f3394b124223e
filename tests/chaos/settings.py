"""The chaos deployment's configuration: real secrets, short timings, private servers."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tests.chaos.services import PrivateRedis

BUCKET = "tasador-chaos"
ADMIN = "chaos-admin"

# Seconds, not minutes: a lost worker is taken over within about 7 s.
FAST_TIMINGS = {
    "TASADOR_JOB_HEARTBEAT_SECONDS": "0.5",
    "TASADOR_JOB_HEARTBEAT_TIMEOUT_SECONDS": "5",
    "TASADOR_REAPER_INTERVAL_SECONDS": "1",
    "TASADOR_JOB_MAX_ATTEMPTS": "4",
    "TASADOR_QUEUED_RESEND_SECONDS": "3",
    "TASADOR_BATCH_CHUNK_ROWS": "20000",
    # Jobs run whole unless a test asks for partitions (PARTITIONED below).
    "TASADOR_BATCH_PARTITION_ROWS": "1000000000",
    "TASADOR_WEBHOOK_BACKOFF_BASE_SECONDS": "1",
}


# The workers of the partition test cut a 1M-row input into ten partitions.
PARTITIONED = {"TASADOR_BATCH_PARTITION_ROWS": "100000"}


def _secret(prefix: str) -> str:
    # Letters and digits only, so a URL or a log line cannot carry it re-encoded.
    return prefix + secrets.token_hex(16)


def deployment_secrets() -> dict[str, str]:
    """Every secret an operator configures, by name (credentials issued later join them)."""
    return {
        "postgres password": _secret("pg"),
        "redis password": _secret("rd"),
        "secret key": _secret("sk") + secrets.token_hex(8),
        "admin password": _secret("pw"),
        "flower password": _secret("fl"),
        "metrics token": _secret("mt"),
        "aws secret key": _secret("aws"),
    }


def environment(
    work: Path, database_url: str, redis: PrivateRedis, s3_url: str, secret: dict[str, str]
) -> dict[str, str]:
    """Every process's environment: production mode, nothing inherited from the test run."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("TASADOR_", "AWS_"))}
    return {
        **keep,
        **FAST_TIMINGS,
        "TASADOR_ENV": "production",
        "TASADOR_DATA_DIR": str(work / "data"),
        "TASADOR_DATABASE_URL": database_url,
        "TASADOR_BROKER_URL": redis.url(0),
        "TASADOR_REDIS_URL": redis.url(1),
        "TASADOR_STORAGE_BACKEND": "s3",
        "TASADOR_S3_ENDPOINT_URL": s3_url,
        "TASADOR_BUCKET": BUCKET,
        "TASADOR_SECRET_KEY": secret["secret key"],
        "TASADOR_ADMIN_USERNAME": ADMIN,
        "TASADOR_ADMIN_PASSWORD": secret["admin password"],
        "TASADOR_FLOWER_PASSWORD": secret["flower password"],
        "TASADOR_METRICS_TOKEN": secret["metrics token"],
        "TASADOR_LOG_FORMAT": "json",
        "TASADOR_LOG_LEVEL": "INFO",
        "AWS_ACCESS_KEY_ID": "chaos",
        "AWS_SECRET_ACCESS_KEY": secret["aws secret key"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
