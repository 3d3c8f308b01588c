"""The sessions of people signed in by a form (broker.people.sessions), kept in a table of
the service's own: `dashboard_sessions` (the tracker's), `sessions` (a gateway's).

The table keeps the hash of the session id (never the id), the user's name, the fingerprint
of their users-file entry and three times. Plain functions of a synchronous connection:
the gateway's store runs them as they are, the tracker's through `run_sync`.
"""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from broker.people.sessions import SessionRecord

SESSION_HASH = 71  # "sha256$" and 64 hex digits
FINGERPRINT = 32


def session_table(name: str, metadata: sa.MetaData, *, user_chars: int) -> sa.Table:
    """The sessions table `name` in `metadata`, user names up to `user_chars` characters."""
    return sa.Table(
        name,
        metadata,
        # sha256$<hex> of the random id in the cookie: the id itself is never stored.
        sa.Column("session_hash", sa.String(SESSION_HASH), primary_key=True),
        sa.Column("user", sa.String(user_chars), nullable=False),
        sa.Column("fingerprint", sa.String(FINGERPRINT), nullable=False),
        sa.Column("created_at", sa.Double(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.Column("revoked_at", sa.Double(), nullable=True),
        # Expired sessions are deleted by this index.
        sa.Index(f"ix_{name}_expires_at", "expires_at"),
    )


def add_session(connection: Connection, table: sa.Table, record: SessionRecord) -> None:
    """Keep a new session."""
    connection.execute(
        sa.insert(table).values(
            session_hash=record.session_hash,
            user=record.user,
            fingerprint=record.fingerprint,
            created_at=record.created_at,
            expires_at=record.expires_at,
            revoked_at=record.revoked_at,
        )
    )


def find_session(
    connection: Connection, table: sa.Table, session_hash: str
) -> SessionRecord | None:
    """The session with this hash, or None (read by its primary key)."""
    query = sa.select(table).where(table.c.session_hash == session_hash)
    row = connection.execute(query).mappings().one_or_none()
    return None if row is None else _record(row)


def revoke_session(connection: Connection, table: sa.Table, session_hash: str, at: float) -> None:
    """Mark the session revoked; the first revocation's time is kept."""
    connection.execute(
        sa.update(table)
        .where(table.c.session_hash == session_hash, table.c.revoked_at.is_(None))
        .values(revoked_at=at)
    )


def forget_sessions(connection: Connection, table: sa.Table, expired_before: float) -> None:
    """Delete the sessions that expired before `expired_before` (off their index)."""
    connection.execute(sa.delete(table).where(table.c.expires_at < expired_before))


def _record(row: sa.RowMapping | dict[str, Any]) -> SessionRecord:
    return SessionRecord(
        session_hash=row["session_hash"],
        user=row["user"],
        fingerprint=row["fingerprint"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
    )
