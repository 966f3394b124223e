"""One row per predicted instance, for model monitoring.

The inputs are typed columns rather than one JSON document: drift queries
(``avg(net_area)`` per model version and day) run in plain SQL, and rows are
cheaper to write, which matters at tens of thousands of rows a second.

No foreign keys on purpose: the log outlives the users and model versions it
mentions (monitoring a retired model is the point), and inserting a batch must
not take locks on the users or registry tables.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, utcnow

# SQLite only auto-increments an INTEGER PRIMARY KEY; Postgres gets a 64-bit id.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class PredictionLog(Base):
    __tablename__ = "prediction_logs"
    __table_args__ = (
        Index("ix_prediction_logs_created_at", "created_at"),
        Index("ix_prediction_logs_model_version_created_at", "model_version", "created_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    request_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    # What the caller asked for ("production", "staging", "7") and what answered.
    model: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[int] = mapped_column(Integer)
    # Position of the instance in the request, so a batch can be reassembled.
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(16))
    sector: Mapped[str] = mapped_column(String(200))
    net_usable_area: Mapped[float] = mapped_column(Float)
    net_area: Mapped[float] = mapped_column(Float)
    n_rooms: Mapped[float] = mapped_column(Float)
    n_bathroom: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    # Time spent inside the prediction route for the whole request, in ms.
    latency_ms: Mapped[float] = mapped_column(Float)
