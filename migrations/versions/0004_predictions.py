"""The prediction log (one row per predicted instance).

Revision ID: 0004_predictions
Revises: 0003_webhooks
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_predictions"
down_revision: str | None = "0003_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "prediction_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=200), nullable=False),
        sa.Column("net_usable_area", sa.Float(), nullable=False),
        sa.Column("net_area", sa.Float(), nullable=False),
        sa.Column("n_rooms", sa.Float(), nullable=False),
        sa.Column("n_bathroom", sa.Float(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prediction_logs")),
    )
    with op.batch_alter_table("prediction_logs", schema=None) as batch_op:
        batch_op.create_index("ix_prediction_logs_created_at", ["created_at"], unique=False)
        batch_op.create_index(
            "ix_prediction_logs_model_version_created_at",
            ["model_version", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("prediction_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_prediction_logs_model_version_created_at")
        batch_op.drop_index("ix_prediction_logs_created_at")
    op.drop_table("prediction_logs")
