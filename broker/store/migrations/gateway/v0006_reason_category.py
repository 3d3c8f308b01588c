"""The reason category of a received answer, kept beside its sealed envelope.

A declined or redirected acknowledgement carries its reason in the body: the category (a
closed vocabulary) is now kept in `inbox.reason_category` at receipt, so the sender's list of
what it sent says why a transfer came back; the reason's text stays sealed. Answers received
before this revision keep NULL (their bodies are not opened again to fill it).

Revision ID: gateway_0006
Revises: gateway_0005
Create Date: 2027-01-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0006"
down_revision: str | Sequence[str] | None = "gateway_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbox.reason_category."""
    with op.batch_alter_table("inbox") as inbox:
        inbox.add_column(sa.Column("reason_category", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop inbox.reason_category."""
    with op.batch_alter_table("inbox") as inbox:
        inbox.drop_column("reason_category")
