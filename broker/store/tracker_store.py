"""TrackerStore on SQLAlchemy 2 async Core: SQLite by default, PostgreSQL by URL.

It keeps what the ledger (`broker.tracker.ledger`) decides, with set-based statements: the
sweep's due threads are found by the next_check_at index, never all loaded at once.
"""

import asyncio
import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from sqlalchemy import and_, bindparam, delete, false, or_, select, text, union_all, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store import migrate
from broker.store.directory_serials import highest_serial, raise_serial
from broker.store.engine import chunks, insert_new, make_engine
from broker.store.errors import translate
from broker.store.tracker_access import TrackerAccess
from broker.store.tracker_queries import TrackerQueries
from broker.store.tracker_rows import (
    agency_rows,
    alert_row,
    event_row,
    folded_values,
    recorded_alert,
    refusal_row,
    thread_claim,
    thread_record,
    tracked_event,
)
from broker.store.tracker_tables import (
    alerts,
    events,
    refused_events,
    thread_agencies,
    threads,
    tracker_directory,
)
from broker.tracker.events import TrackedEvent
from broker.tracker.parties import ThreadClaim
from broker.tracker.records import (
    DueThread,
    FoldedThread,
    NextCheck,
    OwedAlert,
    RecordedAlert,
)


class SqlTrackerStore(TrackerQueries, TrackerAccess):
    """The tracker's events, threads, alert outbox and dashboard access in SQLite or PostgreSQL.

    Raises UnsupportedDatabase for any other URL, and StoreError (StoreUnavailable when worth
    retrying) when the database fails; nothing of the failed call is then committed.
    """

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._dialect = self._engine.dialect.name
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

    @asynccontextmanager
    async def writing(self, operation: str) -> AsyncIterator["SqlTrackerWrites"]:
        """One transaction, committed when the block ends normally, rolled back otherwise."""
        async with self._transaction(operation, writes=True) as connection:
            yield SqlTrackerWrites(connection, self._dialect)

    async def claim_unpublished_alerts(
        self, limit: int, holder: str, now: float, lease_s: float
    ) -> list[RecordedAlert]:
        """Lease the oldest claimable unpublished alerts to `holder`; return them, oldest
        first. One statement: PostgreSQL skips the rows another claim has locked (SKIP
        LOCKED; a row another claim leased and committed meanwhile is rechecked against
        `claimable` when locked), SQLite has one writer at a time."""
        claimable = and_(
            alerts.c.published_at.is_(None),
            or_(
                alerts.c.claimed_until.is_(None),
                alerts.c.claimed_until <= now,
                alerts.c.claimed_by == holder,
            ),
        )
        batch = (
            select(alerts.c.key)
            .where(claimable)
            .order_by(alerts.c.raised_at, alerts.c.key)
            .limit(limit)
        )
        if self._dialect == "postgresql":
            batch = batch.with_for_update(skip_locked=True)
        # Materialized: the batch is chosen (and locked) once. As a plain IN subquery,
        # PostgreSQL may run it again per row updated and lease more than `limit`.
        chosen = batch.cte("chosen").prefix_with("MATERIALIZED", dialect="postgresql")
        claim = (
            update(alerts)
            .where(alerts.c.key.in_(select(chosen.c.key)))
            .values(claimed_by=holder, claimed_until=now + lease_s)
            .returning(*alerts.c)
        )
        async with self._transaction("claim_unpublished_alerts", writes=True) as connection:
            rows = (await connection.execute(claim)).mappings().all()
        # RETURNING keeps no order.
        return sorted(map(recorded_alert, rows), key=lambda alert: (alert.raised_at, alert.key))

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown keys ignored."""
        async with self._transaction("mark_alerts_published", writes=True) as connection:
            for chunk in chunks(sorted(set(keys))):
                await connection.execute(
                    update(alerts)
                    .where(alerts.c.key.in_(chunk), alerts.c.published_at.is_(None))
                    .values(published_at=at)
                )

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""
        async with self._transaction("directory_serial") as connection:
            return await connection.run_sync(highest_serial, tracker_directory)

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher; return the one kept after."""
        async with self._transaction("accept_directory_serial", writes=True) as connection:
            return await connection.run_sync(raise_serial, tracker_directory, serial, at)


class SqlTrackerWrites:
    """The reads and writes of one SqlTrackerStore transaction, set-based (chunked IN lists).

    Every writer takes its locks in one order, threads (an ingest: their advisory locks,
    then their rows) then events (and refusals) then alerts, each by sorted key, so two
    trackers on one PostgreSQL database wait instead of deadlocking.
    """

    def __init__(self, connection: AsyncConnection, dialect: str) -> None:
        self._connection = connection
        self._dialect = dialect
        # Threads with a row, as claims_for_update found them under lock (or saved since):
        # save_threads updates these and inserts the others, with no agencies to replace.
        self._stored: set[str] = set()

    async def claims_for_update(self, thread_ids: Sequence[str]) -> dict[str, ThreadClaim]:
        """The claims of these threads, locked whether stored or not (ingest's first call)."""
        ordered = sorted(set(thread_ids))
        await self._lock_threads(ordered)
        found: dict[str, ThreadClaim] = {}
        for chunk in chunks(ordered):
            query = (
                select(threads.c.thread_id, threads.c.opener_id, threads.c.parties)
                .where(threads.c.thread_id.in_(chunk))
                .order_by(threads.c.thread_id)
            )
            if self._dialect == "postgresql":
                # Row locks too, as the sweep's moves take them: a move waits for the refold.
                query = query.with_for_update()
            for thread_id, opener, parties in await self._connection.execute(query):
                found[thread_id] = thread_claim(opener, parties)
        self._stored |= found.keys()
        return {thread_id: found.get(thread_id, ThreadClaim()) for thread_id in ordered}

    async def known_messages(self, message_ids: Sequence[str]) -> set[str]:
        """The ids stored as events or refusals."""
        found: set[str] = set()
        for chunk in chunks(sorted(set(message_ids))):
            # One round trip for both tables: this runs once per ingested batch.
            query = union_all(
                select(events.c.message_id).where(events.c.message_id.in_(chunk)),
                select(refused_events.c.message_id).where(refused_events.c.message_id.in_(chunk)),
            )
            found |= set((await self._connection.execute(query)).scalars().all())
        return found

    async def add_events(self, events_: Sequence[TrackedEvent], received_at: float) -> set[str]:
        """Insert the events not stored yet; return the ids inserted."""
        if not events_:
            return set()
        ordered = sorted(events_, key=_message_id)
        inserted = await self._connection.execute(
            insert_new(self._dialect, events).returning(events.c.message_id),
            [event_row(event, received_at) for event in ordered],
        )
        return set(inserted.scalars().all())

    async def add_refusals(
        self, events_: Sequence[TrackedEvent], reason: str, received_at: float
    ) -> None:
        """Insert the refused events not kept yet."""
        if events_:
            await self._connection.execute(
                insert_new(self._dialect, refused_events),
                [refusal_row(e, reason, received_at) for e in sorted(events_, key=_message_id)],
            )

    async def events_of(self, thread_ids: Sequence[str]) -> dict[str, list[TrackedEvent]]:
        """Every stored event of these threads (locked by claims_for_update)."""
        ordered = sorted(thread_ids)
        by_thread: dict[str, list[TrackedEvent]] = {thread_id: [] for thread_id in ordered}
        for chunk in chunks(ordered):
            query = select(events).where(events.c.thread_id.in_(chunk))
            for found in (await self._connection.execute(query)).mappings():
                by_thread[found["thread_id"]].append(tracked_event(found))
        return by_thread

    async def recorded_keys(self, thread_ids: Sequence[str]) -> dict[str, set[str]]:
        """The outbox keys recorded per thread (every thread asked for is a key)."""
        found: dict[str, set[str]] = defaultdict(set)
        for chunk in chunks(thread_ids):
            query = select(alerts.c.thread_id, alerts.c.key).where(alerts.c.thread_id.in_(chunk))
            for thread_id, key in (await self._connection.execute(query)).all():
                found[thread_id].add(key)
        return {thread_id: found[thread_id] for thread_id in thread_ids}

    async def save_threads(self, threads_: Sequence[FoldedThread]) -> None:
        """Insert the rows of new threads, update those of stored ones with a new revision,
        each with its claim in the same statement; and replace their agencies. The threads
        were locked by `claims_for_update`, so none is stored meanwhile by another writer."""
        if not threads_:
            return
        ordered = sorted(threads_, key=lambda folded: folded.row.state.thread_id)
        rows = {folded.row.state.thread_id: folded_values(folded) for folded in ordered}
        stored = [thread_id for thread_id in rows if thread_id in self._stored]
        new = [thread_id for thread_id in rows if thread_id not in self._stored]
        for chunk in chunks(stored):
            await self._connection.execute(
                delete(thread_agencies).where(thread_agencies.c.thread_id.in_(chunk))
            )
        if stored:
            await self._connection.execute(
                update(threads)
                .where(threads.c.thread_id == bindparam("b_thread_id"))
                .values(revision=threads.c.revision + 1),
                [{"b_thread_id": thread_id} | rows[thread_id] for thread_id in stored],
            )
        if new:
            await self._connection.execute(
                threads.insert(),
                [{"thread_id": thread_id, "revision": 1} | rows[thread_id] for thread_id in new],
            )
        self._stored.update(rows)
        parties = [row for folded in ordered for row in agency_rows(folded)]
        if parties:
            await self._connection.execute(thread_agencies.insert(), parties)

    async def due_threads(self, now: int, limit: int) -> list[DueThread]:
        """Up to `limit` threads due at `now`, straight off the next_check_at index."""
        await self._sqlite_write_lock()
        query = (
            select(threads)
            .where(threads.c.next_check_at <= now)
            .order_by(threads.c.next_check_at, threads.c.thread_id)
            .limit(limit)
        )
        rows = (await self._connection.execute(query)).mappings().all()
        return [DueThread(thread_record(row), row["revision"]) for row in rows]

    async def add_alerts(self, alerts_: Sequence[OwedAlert]) -> set[str]:
        """Insert the alerts whose key is new; return the keys inserted."""
        if not alerts_:
            return set()
        ordered = sorted(alerts_, key=lambda owed: owed[0].key)
        inserted = await self._connection.execute(
            insert_new(self._dialect, alerts).returning(alerts.c.key),
            [alert_row(record, body) for record, body in ordered],
        )
        return set(inserted.scalars().all())

    async def move_next_checks(self, moves: Sequence[NextCheck]) -> None:
        """Set next_check_at where the thread's revision is still the move's."""
        if not moves:
            return
        await self._connection.execute(
            update(threads)
            .where(
                threads.c.thread_id == bindparam("b_id"),
                threads.c.revision == bindparam("b_rev"),
            )
            .values(next_check_at=bindparam("next")),
            [
                {"b_id": move.thread_id, "b_rev": move.revision, "next": move.next_check_at}
                for move in sorted(moves, key=lambda move: move.thread_id)
            ],
        )

    async def _lock_threads(self, thread_ids: Sequence[str]) -> None:
        """Lock these threads, stored or not, until the transaction ends."""
        if self._dialect == "sqlite":
            await self._sqlite_write_lock()  # one writer at a time: every thread is locked
        elif thread_ids:
            # A thread not stored yet has no row to lock: an advisory lock per thread id
            # stands for it, so two trackers ingesting a new thread's first messages take
            # turns (without it, both would admit their sender as its opener). Keys are
            # taken in ascending order, so two writers wait for each other, never deadlock;
            # ids whose keys collide only wait for each other too.
            keys = sorted({_lock_key(thread_id) for thread_id in thread_ids})
            await self._connection.execute(_LOCK_THREADS, {"keys": keys})

    async def _sqlite_write_lock(self) -> None:
        # Take SQLite's write lock before reading: a writer in another process then makes
        # us wait (busy_timeout) rather than fail our snapshot when we write after it.
        await self._connection.execute(
            update(threads).where(false()).values(revision=threads.c.revision)
        )


_LOCK_THREADS = text(
    "SELECT pg_advisory_xact_lock(key)"
    " FROM unnest(CAST(:keys AS BIGINT[])) WITH ORDINALITY AS locks(key, n) ORDER BY n"
)
"""PostgreSQL: take one transaction-scoped advisory lock per key, in the order given."""


def _lock_key(thread_id: str) -> int:
    """A thread id's advisory lock key: 64 bits of its hash, signed (PostgreSQL's bigint)."""
    digest = hashlib.blake2b(thread_id.encode(), digest_size=8, person=b"caselink-thread")
    return int.from_bytes(digest.digest(), "big", signed=True)


def _message_id(event: TrackedEvent) -> str:
    return event.message_id
