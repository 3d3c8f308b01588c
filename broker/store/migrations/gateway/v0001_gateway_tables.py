"""Gateway tables: outbox and inbox.

Revision ID: gateway_0001
Revises:
Create Date: 2025-11-25

Written out in full rather than imported from gateway_tables: a revision is a frozen record
of the schema at its time, and must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create outbox and inbox with their indexes."""
    op.create_table(
        "outbox",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("urgency", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.Double(), nullable=False, server_default="0"),
        sa.Column("sent_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["sent_at", "next_attempt_at"])
    op.create_index("ix_outbox_kind_created", "outbox", ["kind", "created_at"])
    op.create_table(
        "inbox",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("body_json", sa.Text(), nullable=False),
        sa.Column("header_json", sa.Text(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("urgency", sa.String(32), nullable=True),
        sa.Column("state", sa.String(32), nullable=False),
    )
    op.create_index("ix_inbox_in_reply_to", "inbox", ["in_reply_to"])
    op.create_index("ix_inbox_received_at", "inbox", ["received_at"])
    op.create_index("ix_inbox_state_received_at", "inbox", ["state", "received_at"])


def downgrade() -> None:
    """Drop inbox and outbox (their indexes go with them)."""
    op.drop_table("inbox")
    op.drop_table("outbox")
