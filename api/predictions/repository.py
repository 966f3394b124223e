"""All SQL for the prediction log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from api.db.engine import get_engine
from api.db.tables.prediction_log import PredictionLog
from api.predictions.log_buffer import LOG_COLUMNS, RejectedRows, Row

_COPY = f"COPY prediction_logs ({', '.join(LOG_COLUMNS)}) FROM STDIN"
# The database refused the values (too long, NULL, out of range), not the connection.
_REFUSED_VALUES = (
    psycopg.DataError,
    psycopg.IntegrityError,
    sa_exc.DataError,
    sa_exc.IntegrityError,
)


def insert_rows(rows: list[Row]) -> None:
    """Insert one batch in its own transaction (called by the flusher thread).

    On Postgres the rows are streamed with COPY, several times faster than a
    multi-row INSERT; at full load the log takes tens of thousands of rows a
    second and the flusher shares the CPU with the requests. Values the
    database refuses raise ``RejectedRows`` (the buffer then retries row by row).
    """
    if not rows:
        return
    try:
        _insert(rows)
    except _REFUSED_VALUES as exc:
        raise RejectedRows(f"{type(exc).__name__}: {exc}") from exc


def _insert(rows: list[Row]) -> None:
    with get_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            driver = connection.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor, cursor.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            connection.execute(
                insert(PredictionLog), [dict(zip(LOG_COLUMNS, r, strict=True)) for r in rows]
            )


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
