"""Alert leases: the relay claims a batch of unpublished alerts before publishing it.

Every tracker, standbys included, runs the alert relay over the shared store; without a
claim two relays published the same alerts. `claimed_by` names the relay holding an alert
and `claimed_until` when its lease ends, after which another relay may take it (the holder
died mid-batch). Alerts recorded before this version carry no lease: any relay may claim
them.

Revision ID: tracker_0008
Revises: tracker_0007
Create Date: 2026-12-03

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0008"
down_revision: str | Sequence[str] | None = "tracker_0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add alerts.claimed_by and alerts.claimed_until."""
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(128), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.Double(), nullable=True))


def downgrade() -> None:
    """Drop both columns."""
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
