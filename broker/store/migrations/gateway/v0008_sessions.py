"""Sessions of the people signed in to the inbox pages by the form.

Revision ID: gateway_0008
Revises: gateway_0007
Create Date: 2026-12-10

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0008"
down_revision: str | Sequence[str] | None = "gateway_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create sessions with its index of expiry times."""
    op.create_table(
        "sessions",
        sa.Column("session_hash", sa.String(71), primary_key=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_sessions_expires_at", "sessions", ["expires_at"])


def downgrade() -> None:
    """Drop sessions: everyone signed in to the pages is signed out."""
    op.drop_table("sessions")
