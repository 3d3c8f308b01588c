"""The highest directory serial the gateway accepted (an older directory is then refused).

Revision ID: gateway_0004
Revises: gateway_0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0004"
down_revision: str | Sequence[str] | None = "gateway_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create gateway_directory: one row, the serial and when it was accepted."""
    op.create_table(
        "gateway_directory",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("accepted_at", sa.Double(), nullable=False),
    )


def downgrade() -> None:
    """Drop it."""
    op.drop_table("gateway_directory")
