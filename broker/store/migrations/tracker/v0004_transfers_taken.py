"""Transfers taken over: an index that reads the newest accepted transfers first.

The dashboard's `transfers-taken` list (kind transfer, phase accepted or completed, the
newest answer first) refreshes every two seconds; without it, every accepted or completed
referral would be read and sorted to find the transfers among them.

Revision ID: tracker_0004
Revises: tracker_0003
Create Date: 2027-01-10

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "tracker_0004"
down_revision: str | Sequence[str] | None = "tracker_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ix_threads_kind_phase_responded_at."""
    op.create_index(
        "ix_threads_kind_phase_responded_at", "threads", ["kind", "phase", "responded_at"]
    )


def downgrade() -> None:
    """Drop ix_threads_kind_phase_responded_at."""
    op.drop_index("ix_threads_kind_phase_responded_at", table_name="threads")
