"""Tracker sweep at scale: one sweep plus the dashboard's first page over N open threads.

Seeds N open normal referrals straight into the tracker's tables (bulk inserts in chunks:
sqlite3 executemany, PostgreSQL COPY), of which one in a thousand is past its delivery
deadline and the rest have deadlines still ahead. Then, on an open store, times ONE full
sweep (which must find exactly the overdue threads and record their reminders) and the
dashboard's first page, `threads(UNANSWERED, ThreadFilter(), limit=50)`. The sweep is the
tracker's own: the ledger deciding per due thread over the SQL store. Seeded rows are
checked against the pure core (`thread_row`) so the bench measures real tracker rows.

The last line is `sweep_seconds <value>` (sweep + first page). Target: <= 1.0 at 1M.
Uses a temporary SQLite file, or a fresh PostgreSQL database on 127.0.0.1 (dropped after).

Run: .venv/bin/python bench/tracker_sweep.py [--threads N] [--store sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints

from broker.store.tracker_store import SqlTrackerStore
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.listings import UNANSWERED
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import RecordedAlert, ThreadFilter, ThreadRow
from broker.tracker.schedule import thread_row
from broker.tracker.state import thread_state
from schemas.alert import Alert
from schemas.kinds import MessageKind, Urgency

NOW = 1_750_000_000
DUE_EVERY = 1000  # 0.1% of threads are overdue
SLA = DEFAULT_POLICY.referral[Urgency.NORMAL]
COORDINATORS = ("coord-national",)
AGENCIES = [f"agency-{n:03d}" for n in range(200)]
CHUNK = 50_000
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}

EVENT_COLUMNS = (
    "message_id",
    "thread_id",
    "kind",
    "sender",
    "recipient",
    "status",
    "in_reply_to",
    "urgency",
    "respond_by",
    "issued_at",
    "received_at",
)
THREAD_COLUMNS = (
    "thread_id",
    "phase",
    "kind",
    "sender",
    "urgency",
    "opened_at",
    "respond_by",
    "delivered_at",
    "responded_at",
    "closed_at",
    "responsibility",
    "legs",
    "current_deadline",
    "next_check_at",
    "updated_at",
    "revision",
)
AGENCY_COLUMNS = ("thread_id", "agency", "role", "current_deadline")


def one_thread(index: int) -> tuple[tuple[Any, ...], tuple[Any, ...], list[tuple[Any, ...]]]:
    """Event, thread and thread_agencies rows of the index-th seeded thread."""
    thread_id, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    overdue = index % DUE_EVERY == 0
    # Overdue: delivery deadline an hour ago, escalation still ahead. Others: deadline ahead.
    opened = NOW - SLA.delivery - 3600 if overdue else NOW - (index * 7919) % (SLA.delivery - 60)
    sender, recipient = AGENCIES[index % 200], AGENCIES[(index * 7 + 1) % 200]
    due = opened + SLA.delivery
    received = float(opened + 1)
    event = (
        message_id,
        thread_id,
        "referral",
        sender,
        recipient,
        None,
        None,
        "normal",
        None,
        opened,
        received,
    )
    legs = json.dumps([[recipient, message_id, None]], separators=(",", ":"))
    thread = (
        thread_id,
        "sent",
        "referral",
        sender,
        "normal",
        opened,
        None,
        None,
        None,
        None,
        None,
        legs,
        due,
        due,
        received,
        1,
    )
    parties = [(thread_id, sender, "sender", None), (thread_id, recipient, "recipient", due)]
    return event, thread, parties


def batches(count: int) -> Iterator[tuple[list[Any], list[Any], list[Any]]]:
    """The seeded rows, at most CHUNK threads at a time (memory stays bounded)."""
    size = max(1, min(CHUNK, count // 10))  # at least one batch per tenth, for progress
    for start in range(0, count, size):
        events, threads, parties = [], [], []
        for index in range(start, min(start + size, count)):
            event, thread, agencies = one_thread(index)
            events.append(event)
            threads.append(thread)
            parties += agencies
        yield events, threads, parties


def check_seed_matches_the_core() -> None:
    """The seeded columns are what the store itself would write for such a thread."""
    for index in (0, 1):
        event, thread, _ = one_thread(index)
        tracked = TrackedEvent(
            message_id=event[0],
            thread_id=event[1],
            kind=MessageKind.REFERRAL,
            sender=event[3],
            recipient=event[4],
            issued_at=event[9],
            urgency=Urgency.NORMAL,
        )
        row = thread_row(thread_state(event[1], [tracked]), DEFAULT_POLICY, set(), event[10])
        assert (row.current_deadline, row.next_check_at) == (thread[12], thread[13]), index
        assert (row.next_check_at <= NOW) == (index % DUE_EVERY == 0), index  # type: ignore[operator]


def progress(done: int, total: int, started: float, step: list[int]) -> None:
    while done * 10 >= step[0] * total and step[0] <= 10:
        print(
            f"  seeded {done:>9,} threads ({step[0] * 10}%) in {time.perf_counter() - started:.1f}s"
        )
        step[0] += 1


def seed_sqlite(path: Path, count: int) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    # Seeding only: a large page cache for random-key inserts into five indexes.
    connection.execute("PRAGMA cache_size=-262144")
    started, done, step = time.perf_counter(), 0, [1]
    try:
        for events, threads, parties in batches(count):
            tables = (
                ("events", EVENT_COLUMNS, events),
                ("threads", THREAD_COLUMNS, threads),
                ("thread_agencies", AGENCY_COLUMNS, parties),
            )
            connection.execute("BEGIN")
            for table, columns, rows in tables:
                marks = ",".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows
                )
            connection.execute("COMMIT")
            done += len(threads)
            progress(done, count, started, step)
        # What `PRAGMA optimize` (recommended on closing long-lived connections) keeps fresh.
        connection.execute("ANALYZE")
    finally:
        connection.close()


async def seed_postgresql(database: str, count: int) -> None:
    connection = await asyncpg.connect(**PG, database=database)
    started, done, step = time.perf_counter(), 0, [1]
    try:
        for events, threads, parties in batches(count):
            tables = (
                ("events", EVENT_COLUMNS, events),
                ("threads", THREAD_COLUMNS, threads),
                ("thread_agencies", AGENCY_COLUMNS, parties),
            )
            async with connection.transaction():
                for table, columns, rows in tables:
                    await connection.copy_records_to_table(table, records=rows, columns=columns)
            done += len(threads)
            progress(done, count, started, step)
        # autovacuum would analyze after such a load within a minute; we do not wait for it.
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def measure(url: str, count: int) -> float:
    store = SqlTrackerStore(url)
    ledger = TrackerLedger(store, DEFAULT_POLICY, COORDINATORS)
    try:
        await store.thread(str(uuid.uuid4()))  # a running tracker has its connections open
        started = time.perf_counter()
        alerts = await ledger.sweep(NOW)
        swept = time.perf_counter()
        page = await store.threads(UNANSWERED, ThreadFilter(), limit=50)
        listed = time.perf_counter()
        report(alerts, page, count, swept - started, listed - swept)
        await other_reads(ledger)
    finally:
        await store.close()
    return listed - started


def report(
    alerts: list[RecordedAlert], page: list[ThreadRow], count: int, sweep: float, listing: float
) -> None:
    """Check what the sweep and the first page found, and print their times."""
    overdue = len(range(0, count, DUE_EVERY))
    threads = {Alert.model_validate_json(alert.alert_json).thread_id for alert in alerts}
    assert len(threads) == overdue, (len(threads), overdue)
    assert len(alerts) == overdue * (1 + len(COORDINATORS)), len(alerts)
    assert len(page) == min(50, count)
    assert all(row.current_deadline is not None for row in page)
    assert page[0].current_deadline == NOW - 3600  # the overdue ones come first
    print(f"sweep: {len(alerts):,} alerts for {overdue:,} overdue threads in {sweep:.3f}s")
    print(f"first page of unanswered (50 rows): {listing:.3f}s")


async def other_reads(ledger: TrackerLedger) -> None:
    """For information (not in sweep_seconds): the dashboard's heavier reads at this size."""
    store = ledger.store
    one_agency = ThreadFilter(involving=AGENCIES[7])
    first_page = UNANSWERED
    reads: list[tuple[str, Callable[[], Awaitable[object]]]] = [
        ("sweep again (nothing due)", lambda: ledger.sweep(NOW)),
        (
            "unanswered involving one agency",
            lambda: store.threads(first_page, one_agency, limit=50),
        ),
        ("metrics", lambda: store.metrics(NOW)),
        ("agency_figures (all threads)", lambda: store.agency_figures(ThreadFilter(), NOW)),
    ]
    for name, read in reads:
        started = time.perf_counter()
        await read()
        print(f"  info: {name}: {time.perf_counter() - started:.3f}s")


async def run(store: str, count: int) -> float:
    if store == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "tracker.db"
            url = f"sqlite+aiosqlite:///{path}"
            await create(url)
            started = time.perf_counter()
            seed_sqlite(path, count)
            print(f"seeding: {time.perf_counter() - started:.1f}s, {count:,} threads")
            return await measure(url, count)
    database = f"caselink_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**PG, database="postgres")
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
        await create(url)
        started = time.perf_counter()
        await seed_postgresql(database, count)
        print(f"seeding: {time.perf_counter() - started:.1f}s, {count:,} threads")
        return await measure(url, count)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def create(url: str) -> None:
    store = SqlTrackerStore(url)
    try:
        await store.create()
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1_000_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    check_seed_matches_the_core()
    print(f"tracker sweep bench: {args.threads:,} open threads on {args.store}")
    seconds = asyncio.run(run(args.store, args.threads))
    print(f"sweep_seconds {seconds:.3f}")


if __name__ == "__main__":
    main()
