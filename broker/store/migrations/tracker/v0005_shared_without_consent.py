"""The lawful basis of a sharing without consent, on its event and on its thread.

Events and threads from before carry none (their headers had no `basis`): no flag is
raised for them afterwards.

Revision ID: tracker_0005
Revises: tracker_0004
Create Date: 2026-12-03

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0005"
down_revision: str | Sequence[str] | None = "tracker_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add events.basis and threads.basis, with the flagged threads' partial index."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("basis", sa.String(64), nullable=True))
    with op.batch_alter_table("threads") as batch:
        batch.add_column(sa.Column("basis", sa.String(64), nullable=True))
    op.create_index(
        "ix_threads_basis_opened_at",
        "threads",
        ["opened_at", "thread_id"],
        sqlite_where=sa.text("basis IS NOT NULL"),
        postgresql_where=sa.text("basis IS NOT NULL"),
    )


def downgrade() -> None:
    """Drop the index and both columns."""
    op.drop_index("ix_threads_basis_opened_at", table_name="threads")
    with op.batch_alter_table("threads") as batch:
        batch.drop_column("basis")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("basis")
