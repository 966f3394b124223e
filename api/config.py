"""Service settings: one class, environment variables only (prefix ``TASADOR_``).

Every knob of the service lives here so that operators have one place to look
and the compose check can verify that every variable it sets exists.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are fine on a laptop and dangerous anywhere else. Production
# refuses to start while any of them is still in effect.
DEV_SECRET_KEY = "dev-insecure-secret-key-change-me-0123456789"  # noqa: S105
DEV_FLOWER_PASSWORD = "flower-dev-password"  # noqa: S105
DEV_SOURCE_KEY = "dev-insecure-source-key-change-me-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TASADOR_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path(".tasador")

    # Database and queue
    database_url: str = ""  # empty: SQLite file under data_dir
    broker_url: str = "redis://127.0.0.1:6379/0"
    redis_url: str = "redis://127.0.0.1:6379/1"

    # Object store
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    bucket: str = "tasador"
    readable_buckets: list[str] = Field(default_factory=list)
    storage_chunk_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)

    # Identity
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    access_token_minutes: int = Field(default=30, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=14, ge=1, le=365)
    login_max_failures_per_user: int = 5
    login_max_failures_per_address: int = 20
    login_window_minutes: int = 15
    # Failures on a username from other addresses slow its logins down (never refuse them).
    login_max_delay_seconds: float = Field(default=5.0, ge=0)
    admin_username: str = "admin"
    admin_password: SecretStr | None = None

    # Uploads and jobs
    upload_max_bytes: int = 200 * 1024 * 1024
    training_soft_time_limit: int = 3600
    training_time_limit: int = 3900
    inference_soft_time_limit: int = 3600
    inference_time_limit: int = 3900
    job_heartbeat_seconds: float = 5.0
    job_heartbeat_timeout_seconds: float = 60.0
    job_max_attempts: int = 3
    reaper_interval_seconds: float = 30.0
    # A queued job still waiting this long after its last send may have lost its
    # message; the reaper sends it again if the broker holds fewer messages than
    # there are queued jobs.
    queued_resend_seconds: float = Field(default=30.0, gt=0)
    # Staging objects and unfinished writes left by dead attempts are removed
    # once older than sweep_age_seconds (keep it above the hard time limits).
    sweep_interval_seconds: float = Field(default=600.0, gt=0)
    sweep_age_seconds: float = Field(default=7200.0, ge=0)
    batch_chunk_rows: int = 100_000
    # A batch job with more data rows than this is cut into partitions of this
    # many rows, which any free inference worker takes.
    batch_partition_rows: int = Field(default=1_000_000, ge=1)

    # Data sources (the client's own databases)
    # Seals the passwords of registered sources at rest; changing it makes them unreadable.
    source_key: SecretStr = SecretStr(DEV_SOURCE_KEY)
    source_statement_timeout_seconds: float = Field(default=600.0, gt=0)
    source_connect_timeout_seconds: int = Field(default=10, ge=1)
    source_chunk_rows: int = Field(default=50_000, ge=1)

    # Serving
    model_cache_size: int = Field(default=4, ge=1)
    # A job input seen to exist this recently is not asked about again (api.storage.recent).
    input_check_cache_seconds: float = Field(default=1.0, ge=0)
    alias_refresh_seconds: float = 0.5
    prediction_log_batch: int = 500
    prediction_log_flush_seconds: float = 1.0
    prediction_log_max_buffer: int = 50_000

    # Webhooks
    webhook_connect_timeout: float = 5.0
    webhook_read_timeout: float = 10.0
    webhook_max_attempts: int = 8
    webhook_backoff_base_seconds: float = 30.0
    webhook_allow_http: bool = False
    webhook_allowed_hosts: list[str] = Field(default_factory=list)

    # Operations
    flower_user: str = "admin"
    flower_password: SecretStr = SecretStr(DEV_FLOWER_PASSWORD)
    # When set, /metrics needs "Authorization: Bearer <token>" and the token also
    # opens the detail of /readyz.
    metrics_token: SecretStr | None = None
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "text"] = "auto"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY:
            problems.append("TASADOR_SECRET_KEY is the development default")
        if len(self.secret_key.get_secret_value()) < 32:
            problems.append("TASADOR_SECRET_KEY must be at least 32 characters")
        if self.flower_password.get_secret_value() == DEV_FLOWER_PASSWORD:
            problems.append("TASADOR_FLOWER_PASSWORD is the development default")
        if self.source_key.get_secret_value() == DEV_SOURCE_KEY:
            problems.append("TASADOR_SOURCE_KEY is the development default")
        if not self.database_url or self.database_url.startswith("sqlite"):
            problems.append("TASADOR_DATABASE_URL must name a server database")
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tasador.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
