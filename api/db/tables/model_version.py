"""Registered model versions: one trained artifact each, numbered 1, 2, 3, ..."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, utcnow


class ModelVersion(Base):
    __tablename__ = "model_versions"
    # AUTOINCREMENT on SQLite: a deleted version number is never handed out again.
    __table_args__ = {"sqlite_autoincrement": True}

    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    preset: Mapped[str] = mapped_column(String(32))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    training_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    artifact_uri: Mapped[str] = mapped_column(String(1024))
    job_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
