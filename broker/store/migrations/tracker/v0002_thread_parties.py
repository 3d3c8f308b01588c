"""A thread's parties and opener, fixed in arrival order; messages refused for a thread;
the highest directory serial accepted (an older directory is then refused).

Revision ID: tracker_0002
Revises: tracker_0001
Create Date: 2026-12-03

Threads stored before this revision keep what they had: every agency that appears in their
events becomes a party (their events were all folded), and the opener is the first opening
message by arrival (received_at, then issued_at, then message id). Thread rows are refolded
from it at their next event.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0002"
down_revision: str | Sequence[str] | None = "tracker_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPENER = sa.text(
    "UPDATE threads SET opener_id = ("
    " SELECT e.message_id FROM events e"
    " WHERE e.thread_id = threads.thread_id"
    " AND (e.kind IN ('referral', 'transfer') OR (e.kind = 'consent' AND e.status = 'withdrawn'))"
    " ORDER BY e.received_at, e.issued_at, e.message_id LIMIT 1)"
)
_PARTIES = sa.text(
    "INSERT INTO thread_parties (thread_id, agency)"
    " SELECT thread_id, sender FROM events UNION SELECT thread_id, recipient FROM events"
)


def upgrade() -> None:
    """Add threads.opener_id, thread_parties, refused_events and tracker_directory; fill in
    the parties and openers of existing threads."""
    with op.batch_alter_table("threads") as threads:
        threads.add_column(sa.Column("opener_id", sa.String(64), nullable=True))
    op.create_table(
        "thread_parties",
        sa.Column("thread_id", sa.String(64), primary_key=True),
        sa.Column("agency", sa.String(64), primary_key=True),
    )
    op.create_table(
        "refused_events",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
    )
    op.create_index("ix_refused_events_thread_id", "refused_events", ["thread_id"])
    op.create_table(
        "tracker_directory",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("accepted_at", sa.Double(), nullable=False),
    )
    op.execute(_OPENER)
    op.execute(_PARTIES)


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("tracker_directory")
    op.drop_table("refused_events")
    op.drop_table("thread_parties")
    with op.batch_alter_table("threads") as threads:
        threads.drop_column("opener_id")
