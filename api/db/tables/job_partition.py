"""Partitions of a batch-inference job too large for one worker.

One row per run of input records (a byte range of the input object); any free
inference worker takes one. The row carries its own attempt number, heartbeat
and counts, so a lost worker costs one partition, and the last partition to
finish (the others all ``succeeded``) assembles the job's outputs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, enum_text, utcnow


class PartitionStatus(StrEnum):
    """queued -> running -> succeeded; running -> queued (worker lost); any -> cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    CANCELLED = "cancelled"


class JobPartition(Base):
    __tablename__ = "job_partitions"
    __table_args__ = (Index("ix_job_partitions_status_heartbeat", "status", "heartbeat_at"),)

    job_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0-based, in input order
    # The job attempt that split the input: the parts are staged under it.
    job_attempt: Mapped[int] = mapped_column(Integer)
    header_end: Mapped[int] = mapped_column(BigInteger)  # the input's header is [0, header_end)
    start_byte: Mapped[int] = mapped_column(BigInteger)
    end_byte: Mapped[int] = mapped_column(BigInteger)  # exclusive
    first_row: Mapped[int] = mapped_column(BigInteger)  # 1-based data row number
    status: Mapped[PartitionStatus] = mapped_column(
        enum_text(PartitionStatus, 16), default=PartitionStatus.QUEUED
    )
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)  # predicted rows
    invalid_rows: Mapped[int] = mapped_column(BigInteger, default=0)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
