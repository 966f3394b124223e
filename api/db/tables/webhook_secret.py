"""Per-user webhook signing secrets, with a grace period after rotation.

The secret must be usable to compute an HMAC, so it is stored as issued (like
a password for an outgoing call, not a password we check). After a rotation
the previous secret keeps signing alongside the new one until
``previous_valid_until``, so receivers can switch without dropping a call.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from api.db.base import Base, UTCDateTime, utcnow


class WebhookSecret(Base):
    __tablename__ = "webhook_secrets"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128), default=None)
    previous_valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
