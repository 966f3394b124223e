"""Credential generations: setting a password ends every credential issued before it.

A user's ``credentials_generation`` goes up when their password is set; access
tokens, page sessions and refresh tokens carry the generation they were issued
under and stop counting once it is not the user's.

Revision ID: 0007_credentials_generation
Revises: 0006_sources
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_credentials_generation"
down_revision: str | None = "0006_sources"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    generation = {"server_default": "0", "nullable": False}
    op.add_column("users", sa.Column("credentials_generation", sa.Integer(), **generation))
    op.add_column("refresh_tokens", sa.Column("generation", sa.Integer(), **generation))


def downgrade() -> None:
    op.drop_column("refresh_tokens", "generation")
    op.drop_column("users", "credentials_generation")
