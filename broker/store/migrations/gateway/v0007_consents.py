"""The consent register, and the consent each sent referral or transfer cited.

Revision ID: gateway_0007
Revises: gateway_0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0007"
down_revision: str | Sequence[str] | None = "gateway_0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outbox.consent_ref with its index; create consents with its index.

    Messages sent before keep no consent_ref: a withdrawal cannot name their recipients.
    """
    with op.batch_alter_table("outbox") as outbox:
        outbox.add_column(sa.Column("consent_ref", sa.String(64), nullable=True))
        outbox.create_index("ix_outbox_consent_ref", ["consent_ref"])
    op.create_table(
        "consents",
        sa.Column("consent_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("agencies", sa.Text(), nullable=False),
        sa.Column("agency_kinds", sa.Text(), nullable=False),
        sa.Column("purposes", sa.Text(), nullable=False),
        sa.Column("data_categories", sa.Text(), nullable=False),
        sa.Column("giver", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.Double(), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("withdrawn_at", sa.Double(), nullable=True),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_consents_recorded_at", "consents", ["recorded_at"])


def downgrade() -> None:
    """Drop consents and outbox.consent_ref."""
    op.drop_table("consents")
    with op.batch_alter_table("outbox") as outbox:
        outbox.drop_index("ix_outbox_consent_ref")
        outbox.drop_column("consent_ref")
