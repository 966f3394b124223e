"""All SQL for the prediction log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.db.engine import get_engine
from api.db.tables.prediction_log import PredictionLog


def insert_rows(rows: list[dict[str, Any]]) -> None:
    """Insert one batch in its own transaction (called by the flusher thread)."""
    if not rows:
        return
    with get_engine().begin() as connection:
        connection.execute(insert(PredictionLog), rows)


def list_entries(
    session: Session,
    *,
    since: datetime | None,
    until: datetime | None,
    model_version: int | None,
    limit: int,
) -> Sequence[PredictionLog]:
    """Newest first; ``since`` inclusive, ``until`` exclusive."""
    stmt = select(PredictionLog)
    if since is not None:
        stmt = stmt.where(PredictionLog.created_at >= since)
    if until is not None:
        stmt = stmt.where(PredictionLog.created_at < until)
    if model_version is not None:
        stmt = stmt.where(PredictionLog.model_version == model_version)
    stmt = stmt.order_by(PredictionLog.created_at.desc(), PredictionLog.id.desc()).limit(limit)
    return session.scalars(stmt).all()
