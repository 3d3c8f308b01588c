"""AccessStore on the SQL TrackerStore: dashboard sessions, the sign-in log, view records."""

from contextlib import AbstractAsyncContextManager

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.people.sessions import SessionRecord
from broker.store import session_rows
from broker.store.tracker_tables import dashboard_sessions, page_views, sign_ins
from broker.tracker.access import (
    SignInMethod,
    SignInOutcome,
    SignInRecord,
    ViewRecord,
)


class TrackerAccess:
    """The access side of SqlTrackerStore; raises StoreError (StoreUnavailable) like it."""

    def _transaction(
        self, operation: str, *, writes: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError  # SqlTrackerStore opens them

    async def add_session(self, record: SessionRecord) -> None:
        """Keep a new session."""
        async with self._transaction("add_session", writes=True) as connection:
            await connection.run_sync(session_rows.add_session, dashboard_sessions, record)

    async def session(self, session_hash: str) -> SessionRecord | None:
        """The session with this hash, or None (read by its primary key)."""
        async with self._transaction("session") as connection:
            return await connection.run_sync(
                session_rows.find_session, dashboard_sessions, session_hash
            )

    async def revoke_session(self, session_hash: str, at: float) -> None:
        """Mark the session revoked; the first revocation's time is kept."""
        async with self._transaction("revoke_session", writes=True) as connection:
            await connection.run_sync(
                session_rows.revoke_session, dashboard_sessions, session_hash, at
            )

    async def forget_sessions(self, expired_before: float) -> None:
        """Delete the sessions that expired before `expired_before` (off their index)."""
        async with self._transaction("forget_sessions", writes=True) as connection:
            await connection.run_sync(
                session_rows.forget_sessions, dashboard_sessions, expired_before
            )

    async def record_sign_in(self, record: SignInRecord) -> None:
        """Append to the sign-in log."""
        values = {
            "name": record.name,
            "address": record.address,
            "at": record.at,
            "outcome": record.outcome.value,
            "method": record.method.value,
        }
        async with self._transaction("record_sign_in", writes=True) as connection:
            await connection.execute(insert(sign_ins).values(values))

    async def sign_ins(self, *, limit: int, offset: int = 0) -> list[SignInRecord]:
        """One page of the sign-in log, newest first (ties: the later recorded first)."""
        query = (
            select(sign_ins)
            .order_by(sign_ins.c.at.desc(), sign_ins.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._transaction("sign_ins") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            SignInRecord(
                name=row["name"],
                address=row["address"],
                at=row["at"],
                outcome=SignInOutcome(row["outcome"]),
                method=SignInMethod(row["method"]),
            )
            for row in rows
        ]

    async def record_view(self, record: ViewRecord) -> None:
        """Append to the view records."""
        values = {
            "user": record.user,
            "at": record.at,
            "view": record.view,
            "thread_id": record.thread_id,
            "filter": record.filter,
        }
        async with self._transaction("record_view", writes=True) as connection:
            await connection.execute(insert(page_views).values(values))

    async def views(self, thread_id: str) -> list[tuple[str, float]]:
        """Who was shown this thread: (user, at), oldest first."""
        query = (
            select(page_views.c.user, page_views.c.at)
            .where(page_views.c.thread_id == thread_id)
            .order_by(page_views.c.at, page_views.c.id)
        )
        async with self._transaction("views") as connection:
            return [(user, at) for user, at in (await connection.execute(query)).all()]

    async def view_log(self, *, limit: int, offset: int = 0) -> list[ViewRecord]:
        """One page of every view record, newest first (ties: the later recorded first)."""
        query = (
            select(page_views)
            .order_by(page_views.c.at.desc(), page_views.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._transaction("view_log") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            ViewRecord(
                user=row["user"],
                at=row["at"],
                view=row["view"],
                thread_id=row["thread_id"],
                filter=row["filter"],
            )
            for row in rows
        ]
