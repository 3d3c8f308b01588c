"""Tracker tables: events, threads, thread_agencies, alerts, page_views.

Revision ID: tracker_0001
Revises:
Create Date: 2025-12-01

Written out in full rather than imported from tracker_tables: a revision is a frozen record
of the schema at its time, and must not change when the tables module does.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("next_check_at IS NOT NULL")
_UNPUBLISHED = sa.text("published_at IS NULL")


def upgrade() -> None:
    """Create the tracker's tables with their indexes."""
    op.create_table(
        "events",
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("recipient", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("in_reply_to", sa.String(64), nullable=True),
        sa.Column("urgency", sa.String(32), nullable=True),
        sa.Column("respond_by", sa.BigInteger(), nullable=True),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_events_thread_id", "events", ["thread_id"])
    op.create_index("ix_events_received_at", "events", ["received_at"])
    op.create_table(
        "threads",
        sa.Column("thread_id", sa.String(64), primary_key=True),
        sa.Column("phase", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=True),
        sa.Column("sender", sa.String(64), nullable=True),
        sa.Column("urgency", sa.String(32), nullable=True),
        sa.Column("opened_at", sa.BigInteger(), nullable=True),
        sa.Column("respond_by", sa.BigInteger(), nullable=True),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.Column("responded_at", sa.BigInteger(), nullable=True),
        sa.Column("closed_at", sa.BigInteger(), nullable=True),
        sa.Column("responsibility", sa.String(64), nullable=True),
        sa.Column("legs", sa.Text(), nullable=False),
        sa.Column("current_deadline", sa.BigInteger(), nullable=True),
        sa.Column("next_check_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.Double(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_threads_current_deadline", "threads", ["current_deadline", "thread_id"])
    op.create_index(
        "ix_threads_next_check_at",
        "threads",
        ["next_check_at", "thread_id"],
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )
    op.create_index("ix_threads_phase_opened_at", "threads", ["phase", "opened_at"])
    op.create_table(
        "thread_agencies",
        sa.Column("thread_id", sa.String(64), primary_key=True),
        sa.Column("agency", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("current_deadline", sa.BigInteger(), nullable=True),
    )
    op.create_index("ix_thread_agencies_agency", "thread_agencies", ["agency", "role", "thread_id"])
    op.create_table(
        "alerts",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("level", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("alert_json", sa.Text(), nullable=False),
        sa.Column("routing_key", sa.String(255), nullable=False),
        sa.Column("raised_at", sa.Double(), nullable=False),
        sa.Column("published_at", sa.Double(), nullable=True),
    )
    op.create_index("ix_alerts_thread_id", "alerts", ["thread_id"])
    op.create_index(
        "ix_alerts_unpublished",
        "alerts",
        ["raised_at", "key"],
        sqlite_where=_UNPUBLISHED,
        postgresql_where=_UNPUBLISHED,
    )
    op.create_table(
        "page_views",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
    )
    op.create_index("ix_page_views_thread_id_at", "page_views", ["thread_id", "at"])


def downgrade() -> None:
    """Drop the tracker's tables (their indexes go with them)."""
    for table in ("page_views", "alerts", "thread_agencies", "threads", "events"):
        op.drop_table(table)
