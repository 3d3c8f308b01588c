"""Index the outbox by in_reply_to: a sent message's status reads this agency's own answers.

Revision ID: gateway_0002
Revises: gateway_0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "gateway_0002"
down_revision: str | Sequence[str] | None = "gateway_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Index outbox.in_reply_to (a withdrawal names the message it withdraws)."""
    op.create_index("ix_outbox_in_reply_to", "outbox", ["in_reply_to"])


def downgrade() -> None:
    """Drop the index."""
    op.drop_index("ix_outbox_in_reply_to", table_name="outbox")
