"""TrackerStore on SQLAlchemy 2 async Core: SQLite by default, PostgreSQL by URL.

Writes (ingest, sweep) follow one lock order, events then threads then alerts by sorted
key, so two trackers on one PostgreSQL database wait for each other instead of deadlocking.
"""

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import bindparam, delete, false, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store import migrate
from broker.store.engine import chunks, insert_new, make_engine
from broker.store.errors import translate
from broker.store.tracker_queries import TrackerQueries
from broker.store.tracker_rows import (
    agency_rows,
    alert_row,
    event_row,
    recorded_alert,
    thread_record,
    thread_values,
    tracked_event,
)
from broker.store.tracker_tables import alerts, events, thread_agencies, threads
from broker.tracker.escalation import due_alerts
from broker.tracker.events import TrackedEvent
from broker.tracker.policy import SlaPolicy
from broker.tracker.records import RecordedAlert
from broker.tracker.schedule import next_check_at, outbox_alerts, planned_keys, thread_row
from broker.tracker.state import Phase, thread_state


class SqlTrackerStore(TrackerQueries):
    """The tracker's events, threads, alert outbox and audit in SQLite or PostgreSQL.

    Raises UnsupportedDatabase for any other URL, and StoreError (StoreUnavailable when worth
    retrying) when the database fails; nothing of the failed call is then committed.
    """

    def __init__(self, url: str, policy: SlaPolicy, coordinators: Sequence[str]) -> None:
        self._engine = make_engine(url)
        self._dialect = self._engine.dialect.name
        self._policy = policy
        self._coordinators = tuple(coordinators)
        # SQLite has one writer at a time: this process's writers take turns here rather
        # than in SQLite's busy handler, which polls with sleeps.
        self._writers = asyncio.Lock()

    @asynccontextmanager
    async def _transaction(
        self, operation: str, *, writes: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        try:
            async with AsyncExitStack() as stack:
                if writes and self._dialect == "sqlite":
                    await stack.enter_async_context(self._writers)
                yield await stack.enter_async_context(self._engine.begin())
        except (SQLAlchemyError, OSError) as exc:
            raise translate(operation, exc) from exc

    async def create(self) -> None:
        """Create or migrate the schema to the newest revision; idempotent."""
        async with self._transaction("create", writes=True) as connection:
            await connection.run_sync(migrate.upgrade, "tracker")

    async def close(self) -> None:
        """Release connections."""
        await self._engine.dispose()

    async def ingest(self, events_: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        """Store new events and refold their threads, in ONE transaction.

        Returns True where the event is new: the first of its id in the batch, not stored yet.
        """
        first: dict[str, int] = {}
        for index, event in enumerate(events_):
            first.setdefault(event.message_id, index)
        unique = sorted((events_[index] for index in first.values()), key=_message_id)
        if not unique:
            return []
        async with self._transaction("ingest", writes=True) as connection:
            inserted = await connection.execute(
                insert_new(self._dialect, events).returning(events.c.message_id),
                [event_row(event, received_at) for event in unique],
            )
            new_ids = set(inserted.scalars().all())
            touched = sorted({e.thread_id for e in unique if e.message_id in new_ids})
            if touched:
                await self._refold(connection, touched, received_at)
        return [
            first[event.message_id] == index and event.message_id in new_ids
            for index, event in enumerate(events_)
        ]

    async def _refold(
        self, connection: AsyncConnection, thread_ids: list[str], received_at: float
    ) -> None:
        placeholders = [
            {"thread_id": thread_id, "phase": Phase.UNKNOWN.value, "legs": "[]", "updated_at": 0.0}
            for thread_id in thread_ids
        ]
        await connection.execute(insert_new(self._dialect, threads), placeholders)
        updates: list[dict[str, Any]] = []
        parties: list[dict[str, str]] = []
        for chunk in chunks(thread_ids):
            if self._dialect == "postgresql":
                # A concurrent ingest of the same thread waits here, then folds the events
                # this one committed too. SQLite writers are serialized anyway (and SQLite
                # has no FOR UPDATE: the query would be a plain read for nothing).
                await connection.execute(
                    select(threads.c.thread_id)
                    .where(threads.c.thread_id.in_(chunk))
                    .order_by(threads.c.thread_id)
                    .with_for_update()
                )
            query = select(events).where(events.c.thread_id.in_(chunk))
            by_thread: dict[str, list[TrackedEvent]] = defaultdict(list)
            for found in (await connection.execute(query)).mappings():
                by_thread[found["thread_id"]].append(tracked_event(found))
            raised = await _raised(connection, chunk)
            for thread_id in chunk:
                state = thread_state(thread_id, by_thread[thread_id])
                row = thread_row(state, self._policy, raised[thread_id], received_at)
                updates.append({"b_thread_id": thread_id} | thread_values(row))
                parties += agency_rows(state, self._policy)
            await connection.execute(
                delete(thread_agencies).where(thread_agencies.c.thread_id.in_(chunk))
            )
        await connection.execute(
            update(threads)
            .where(threads.c.thread_id == bindparam("b_thread_id"))
            .values(revision=threads.c.revision + 1),
            updates,
        )
        if parties:
            await connection.execute(thread_agencies.insert(), parties)

    async def sweep(self, now: int, *, limit: int = 10_000) -> list[RecordedAlert]:
        """Record every alert due at `now` exactly once; return those newly recorded.

        Works through due threads `limit` at a time, one transaction each, in the order of
        the next_check_at index. Raises NoCoordinators when an alert is for the coordinators
        and none is configured (the chunk at hand is then not recorded).
        """
        recorded: list[RecordedAlert] = []
        # Each chunk records every rung due by `now`, which moves its threads' next check
        # past `now` (or clears it): the due set shrinks chunk by chunk, so the loop ends.
        while True:
            async with self._transaction("sweep", writes=True) as connection:
                found, new = await self._sweep_chunk(connection, now, limit)
            recorded += new
            if found < limit:
                return recorded

    async def _sweep_chunk(
        self, connection: AsyncConnection, now: int, limit: int
    ) -> tuple[int, list[RecordedAlert]]:
        if self._dialect == "sqlite":
            # Take SQLite's write lock before reading: a writer in another process then makes
            # us wait (busy_timeout) rather than fail our snapshot when we write after it.
            await connection.execute(
                update(threads).where(false()).values(revision=threads.c.revision)
            )
        query = (
            select(threads)
            .where(threads.c.next_check_at <= now)
            .order_by(threads.c.next_check_at, threads.c.thread_id)
            .limit(limit)
        )
        rows = (await connection.execute(query)).mappings().all()
        if not rows:
            return 0, []
        raised = await _raised(connection, [row["thread_id"] for row in rows])
        planned, moves = [], []
        for row in rows:
            stored = thread_record(row)
            state, thread_id = stored.state, row["thread_id"]
            due = due_alerts(state, self._policy, now, raised[thread_id])
            planned += due
            after = raised[thread_id] | {alert.key for alert in due}
            refused_by = int(stored.updated_at)
            moved = next_check_at(state, self._policy, after, refused_by=refused_by)
            if moved != stored.next_check_at:
                moves.append({"b_id": thread_id, "b_rev": row["revision"], "next": moved})
        owed = outbox_alerts(planned, self._coordinators)
        new_keys: set[str] = set()
        if owed:
            inserted = await connection.execute(
                insert_new(self._dialect, alerts).returning(alerts.c.key),
                [alert_row(record, body) for record, body in owed],
            )
            # Only rows this transaction inserted: another tracker's are its own to report.
            new_keys = set(inserted.scalars().all())
        if moves:
            # A refold since our read (a new revision) already set its own next check. In
            # thread id order, like every other writer, so two sweeps cannot deadlock.
            moves.sort(key=lambda move: str(move["b_id"]))
            await connection.execute(
                update(threads)
                .where(
                    threads.c.thread_id == bindparam("b_id"),
                    threads.c.revision == bindparam("b_rev"),
                )
                .values(next_check_at=bindparam("next")),
                moves,
            )
        return len(rows), [record for record, _ in owed if record.key in new_keys]

    async def unpublished_alerts(self, limit: int) -> list[RecordedAlert]:
        """Alerts recorded but not yet confirmed by the broker, oldest first."""
        query = (
            select(alerts)
            .where(alerts.c.published_at.is_(None))
            .order_by(alerts.c.raised_at, alerts.c.key)
            .limit(limit)
        )
        async with self._transaction("unpublished_alerts") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [recorded_alert(row) for row in rows]

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown keys ignored."""
        async with self._transaction("mark_alerts_published", writes=True) as connection:
            for chunk in chunks(sorted(set(keys))):
                await connection.execute(
                    update(alerts)
                    .where(alerts.c.key.in_(chunk), alerts.c.published_at.is_(None))
                    .values(published_at=at)
                )


async def _raised(connection: AsyncConnection, thread_ids: Sequence[str]) -> dict[str, set[str]]:
    """Planned keys already recorded, per thread (every thread asked for is a key)."""
    found: dict[str, list[str]] = defaultdict(list)
    for chunk in chunks(thread_ids):
        query = select(alerts.c.thread_id, alerts.c.key).where(alerts.c.thread_id.in_(chunk))
        for thread_id, key in (await connection.execute(query)).all():
            found[thread_id].append(key)
    return {thread_id: planned_keys(found[thread_id]) for thread_id in thread_ids}


def _message_id(event: TrackedEvent) -> str:
    return event.message_id
