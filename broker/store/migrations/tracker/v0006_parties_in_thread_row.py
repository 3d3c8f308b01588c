"""A thread's parties kept in its row (threads.parties, a sorted JSON list), not in
thread_parties: ingest writes a new thread's row, opener and parties in one statement.

Revision ID: tracker_0006
Revises: tracker_0005
Create Date: 2026-12-03

Written out in full, like every revision: it must not change when the tables module does.
The parties are moved in Python rather than SQL: aggregating into JSON is spelled
differently by SQLite and PostgreSQL, and this runs once.
"""

import json
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "tracker_0006"
down_revision: str | Sequence[str] | None = "tracker_0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIES_OF = sa.text("SELECT thread_id, agency FROM thread_parties")
_SET_PARTIES = sa.text("UPDATE threads SET parties = :parties WHERE thread_id = :thread_id")
_THREAD_PARTIES = sa.text("SELECT thread_id, parties FROM threads WHERE parties <> '[]'")
_ADD_PARTY = sa.text("INSERT INTO thread_parties (thread_id, agency) VALUES (:thread_id, :agency)")


def upgrade() -> None:
    """Add threads.parties, fill it from thread_parties, drop thread_parties."""
    with op.batch_alter_table("threads") as threads:
        threads.add_column(sa.Column("parties", sa.Text(), nullable=False, server_default="[]"))
    connection = op.get_bind()
    parties: dict[str, set[str]] = defaultdict(set)
    for thread_id, agency in connection.execute(_PARTIES_OF):
        parties[thread_id].add(agency)
    rows = [
        {"thread_id": thread_id, "parties": json.dumps(sorted(agencies), separators=(",", ":"))}
        for thread_id, agencies in sorted(parties.items())
    ]
    if rows:
        connection.execute(_SET_PARTIES, rows)
    op.drop_table("thread_parties")


def downgrade() -> None:
    """Put thread_parties back, filled from threads.parties; drop the column."""
    op.create_table(
        "thread_parties",
        sa.Column("thread_id", sa.String(64), primary_key=True),
        sa.Column("agency", sa.String(64), primary_key=True),
    )
    connection = op.get_bind()
    rows = [
        {"thread_id": thread_id, "agency": agency}
        for thread_id, parties in connection.execute(_THREAD_PARTIES)
        for agency in json.loads(parties)
    ]
    if rows:
        connection.execute(_ADD_PARTY, rows)
    with op.batch_alter_table("threads") as threads:
        threads.drop_column("parties")
