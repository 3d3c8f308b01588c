"""People, not one shared token: who wrote each outbox entry, the read audit, the sign-in log.

Revision ID: gateway_0005
Revises: gateway_0004
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0005"
down_revision: str | Sequence[str] | None = "gateway_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add outbox.author; create reads and sign_ins with their indexes."""
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("author", sa.String(64), nullable=True))
    op.create_table(
        "reads",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("reader", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("at", sa.Double(), nullable=False),
    )
    op.create_index("ix_reads_thread_at", "reads", ["thread_id", "at"])
    op.create_table(
        "sign_ins",
        sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Double(), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=True),
    )
    op.create_index("ix_sign_ins_at", "sign_ins", ["at"])


def downgrade() -> None:
    """Drop sign_ins, reads and outbox.author."""
    op.drop_table("sign_ins")
    op.drop_table("reads")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_column("author")
