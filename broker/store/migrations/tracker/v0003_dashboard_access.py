"""Dashboard access: server-side sessions, the sign-in log, and view records of every list.

page_views gains `view` and `filter` and its thread_id may be NULL (lists, figures and
exports record a filter, not a thread); rows from before are views of one thread ("thread").

Revision ID: tracker_0003
Revises: tracker_0002
Create Date: 2026-01-15

Written out in full, like every revision: it must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0003"
down_revision: str | Sequence[str] | None = "tracker_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Widen page_views; create dashboard_sessions and sign_ins."""
    # Batch mode: SQLite changes a column's nullability by copying the table.
    with op.batch_alter_table("page_views") as batch:
        batch.alter_column("thread_id", existing_type=sa.String(64), nullable=True)
        batch.add_column(sa.Column("view", sa.String(64), nullable=False, server_default="thread"))
        batch.add_column(sa.Column("filter", sa.String(255), nullable=False, server_default=""))
        batch.create_index("ix_page_views_at", ["at"])
    op.create_table(
        "dashboard_sessions",
        sa.Column("session_hash", sa.String(71), primary_key=True),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_dashboard_sessions_expires_at", "dashboard_sessions", ["expires_at"])
    op.create_table(
        "sign_ins",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
    )
    op.create_index("ix_sign_ins_at", "sign_ins", ["at"])


def downgrade() -> None:
    """Drop sessions and the sign-in log; page_views keeps its views of one thread only."""
    op.drop_table("sign_ins")
    op.drop_table("dashboard_sessions")
    op.execute(sa.text("DELETE FROM page_views WHERE thread_id IS NULL"))
    with op.batch_alter_table("page_views") as batch:
        batch.drop_index("ix_page_views_at")
        batch.drop_column("filter")
        batch.drop_column("view")
        batch.alter_column("thread_id", existing_type=sa.String(64), nullable=False)
