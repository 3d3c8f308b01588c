"""Bodies sealed at rest, erasure and its log, idempotency keys of submissions.

Revision ID: gateway_0003
Revises: gateway_0002
Create Date: 2027-01-12

The inbox kept each decrypted body in `body_json`. It now keeps the envelope as received
(encrypted to the agency's own key, which lives in the key file, apart from the database)
and opens it when a reader asks. Bodies received before this revision cannot be sealed
again honestly: the envelope they came in is gone, and sealing them anew would need their
sender's signature. So their plaintext is dropped here, those rows are marked erased now,
and the erasure log says so, one entry per thread (`migration:gateway_0003`); their ids,
kinds, states and times stay. Export what must be kept before upgrading.

On SQLite the stores run with `secure_delete` and copy the WAL into the database file
after migrating (`broker.store.engine`), so the dropped text leaves the file. PostgreSQL
keeps the old row versions on disk until a `VACUUM FULL inbox` (and in its WAL archive
and backups): run it after upgrading.

Outbox envelopes (sealed to their recipients) stay; the column becomes nullable, for
erasure. Downgrading gives back `body_json` as `{}` for every row: bodies are not restored.
"""

import time
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "gateway_0003"
down_revision: str | Sequence[str] | None = "gateway_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATION = "migration:gateway_0003"


def upgrade() -> None:
    """Drop inbox.body_json (logged as erased), add the sealed columns and the new tables."""
    now = time.time()
    erasures = op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("erased_at", sa.Double(), nullable=False),
        sa.Column("erased_by", sa.String(64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_erasures_thread_id", "erasures", ["thread_id"])
    inbox = sa.table(
        "inbox", sa.column("thread_id", sa.String()), sa.column("erased_at", sa.Double())
    )
    per_thread = sa.select(
        inbox.c.thread_id,
        sa.literal(now, sa.Double()),
        sa.literal(MIGRATION),
        sa.func.count(),
    ).group_by(inbox.c.thread_id)
    op.execute(
        erasures.insert().from_select(["thread_id", "erased_at", "erased_by", "count"], per_thread)
    )

    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("body_json")
        batch.add_column(sa.Column("envelope", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.Double(), nullable=True))
        batch.create_index("ix_inbox_thread_id", ["thread_id"])
        batch.create_index("ix_inbox_erased_received", ["erased_at", "received_at"])
    op.execute(inbox.update().values(erased_at=now))

    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("envelope", existing_type=sa.LargeBinary(), nullable=True)
        batch.add_column(sa.Column("erased_at", sa.Double(), nullable=True))
        batch.create_index("ix_outbox_thread_id", ["thread_id"])
        batch.create_index("ix_outbox_erased_created", ["erased_at", "created_at"])

    op.create_table(
        "submission_keys",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
    )
    op.create_index("ix_submission_keys_created_at", "submission_keys", ["created_at"])


def downgrade() -> None:
    """Back to gateway_0002's columns; bodies come back as `{}`, erased envelopes as empty."""
    op.drop_table("submission_keys")
    outbox = sa.table("outbox", sa.column("envelope", sa.LargeBinary()))
    op.execute(outbox.update().where(outbox.c.envelope.is_(None)).values(envelope=b""))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_erased_created")
        batch.drop_index("ix_outbox_thread_id")
        batch.drop_column("erased_at")
        batch.alter_column("envelope", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("inbox") as batch:
        batch.drop_index("ix_inbox_erased_received")
        batch.drop_index("ix_inbox_thread_id")
        batch.drop_column("erased_at")
        batch.drop_column("envelope")
        batch.add_column(sa.Column("body_json", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("inbox") as batch:
        batch.alter_column("body_json", existing_type=sa.Text(), server_default=None)
    op.drop_table("erasures")
