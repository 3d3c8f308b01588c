"""Accepted, not done: an index that reads the longest-accepted threads first.

The dashboard's `accepted` list (referrals and transfers accepted and not completed, the
oldest acceptance first) refreshes every two seconds; the kind-first index of
`transfers-taken` would read two ranges and sort them. Only accepted threads carry an
outcome deadline, and consent withdrawals are never accepted, so phase then time suffices.

No thread row is touched: threads accepted before this version get their outcome deadline
at their next refold (any new event of theirs), not at once, so an upgrade does not raise
a reminder and an escalation for every referral accepted in the past and never marked
completed. They are listed all the same.

Revision ID: tracker_0007
Revises: tracker_0006
Create Date: 2027-02-01

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "tracker_0007"
down_revision: str | Sequence[str] | None = "tracker_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_threads_phase_responded_at."""
    op.create_index(
        "ix_threads_phase_responded_at", "threads", ["phase", "responded_at", "thread_id"]
    )


def downgrade() -> None:
    """Drop ix_threads_phase_responded_at."""
    op.drop_index("ix_threads_phase_responded_at", table_name="threads")
