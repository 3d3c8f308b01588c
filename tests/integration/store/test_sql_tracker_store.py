"""What only the SQL tracker store promises: migrations, atomic failures, large batches, and
two trackers on one database (PostgreSQL for standbys; SQLite must not fail either)."""

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from broker.store import migrate
from broker.store.engine import make_engine
from broker.store.errors import StoreError, UnsupportedDatabase
from broker.store.tracker_rows import event_row
from broker.store.tracker_store import SqlTrackerStore
from broker.store.tracker_tables import events, metadata, threads
from broker.tracker.access import ViewRecord
from broker.tracker.ledger import TrackerLedger
from broker.tracker.parties import ThreadClaim
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.state import Phase, thread_state
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.integration.store.conftest import COORDINATORS, TrackerBackend
from tests.integration.store.tracker_helpers import keys, owed, thread_of
from tests.unit.tracker.builders import HOUR, RECIPIENT, SENDER, STRANGER, T0, Thread

TABLES = set(metadata.tables)
HEAD = migrate.head("tracker")


async def test_create_is_idempotent_and_tracks_its_own_version(
    sql_tracker_backend: TrackerBackend,
) -> None:
    store = await sql_tracker_backend.open()
    thread = Thread()
    await store.ingest([thread.original(T0)], 1.0)
    await store.store.create()
    assert (await store.store.thread(thread.thread_id)) is not None
    assert sql_tracker_backend.url is not None
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.connect() as connection:
            revision = await connection.run_sync(migrate.current, "tracker")
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert revision == HEAD
    assert differences == []


async def test_migrations_go_down_and_up_again(sql_tracker_backend: TrackerBackend) -> None:
    await (await sql_tracker_backend.open()).store.close()
    assert sql_tracker_backend.url is not None
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade)
            assert await connection.run_sync(migrate.current, "tracker") is None
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert not TABLES & tables
            await connection.run_sync(migrate.upgrade, "tracker")
            assert await connection.run_sync(migrate.current, "tracker") == HEAD
    finally:
        await engine.dispose()


async def test_threads_stored_before_parties_existed_get_them_from_their_events(
    sql_tracker_backend: TrackerBackend,
) -> None:
    thread = Thread()
    sent = thread.original(T0)
    received = thread.answer(sent, AckStatus.RECEIVED, T0 + 1)
    # Stored by a tracker at tracker_0001; the resend arrived later but claims an earlier time.
    resent = replace(thread.original(T0 - 60), message_id="resent-later")
    assert sql_tracker_backend.url is not None
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "tracker_0001")
            rows = [event_row(sent, 1.0), event_row(received, 2.0), event_row(resent, 3.0)]
            for row in rows:
                del row["basis"]  # a column since tracker_0005
            await connection.execute(events.insert(), rows)
            await connection.execute(
                threads.insert().values(
                    thread_id=thread.thread_id, phase="delivered", legs="[]", updated_at=2.0
                )
            )
    finally:
        await engine.dispose()
    tracker = await sql_tracker_backend.open()  # migrates to the newest revision
    async with tracker.store.writing("read") as writes:
        claims = await writes.claims_for_update([thread.thread_id])
    assert claims == {
        thread.thread_id: ThreadClaim(sent.message_id, frozenset({SENDER, RECIPIENT}))
    }
    intruder = thread.original(T0 - HOUR, sender=STRANGER)
    accepted = thread.answer(sent, AckStatus.ACCEPTED, T0 + 2)
    assert await tracker.ingest([intruder, accepted], 4.0) == [False, True]
    row = await tracker.store.thread(thread.thread_id)  # refolded by the accepted answer
    assert row is not None
    assert (row.state.sender, row.state.opened_at, row.state.phase) == (
        SENDER,
        T0,  # the first received original, not the earlier-dated resend
        Phase.ACCEPTED,
    )


async def test_parties_kept_in_thread_parties_move_into_the_thread_row_and_back(
    sql_tracker_backend: TrackerBackend,
) -> None:
    thread = Thread()
    sent = thread.original(T0)
    assert sql_tracker_backend.url is not None
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:  # as a tracker at tracker_0005 stored it
            await connection.run_sync(_upgrade_to, "tracker_0005")
            await connection.execute(events.insert(), [event_row(sent, 1.0)])
            await connection.execute(
                threads.insert().values(
                    thread_id=thread.thread_id,
                    phase="sent",
                    legs="[]",
                    updated_at=1.0,
                    opener_id=sent.message_id,
                )
            )
            await connection.execute(
                text("INSERT INTO thread_parties (thread_id, agency) VALUES (:t, :a)"),
                [{"t": thread.thread_id, "a": agency} for agency in (SENDER, RECIPIENT)],
            )
    finally:
        await engine.dispose()
    tracker = await sql_tracker_backend.open()  # migrates to the head
    claim = ThreadClaim(sent.message_id, frozenset({SENDER, RECIPIENT}))
    async with tracker.store.writing("read") as writes:
        assert await writes.claims_for_update([thread.thread_id]) == {thread.thread_id: claim}
    assert await tracker.ingest([thread.original(T0 - HOUR, sender=STRANGER)], 2.0) == [False]
    await tracker.store.close()
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "tracker_0005", down=True)
            query = text("SELECT thread_id, agency FROM thread_parties ORDER BY agency")
            rows = (await connection.execute(query)).all()
            await connection.run_sync(migrate.upgrade, "tracker")  # and up again
    finally:
        await engine.dispose()
    assert rows == sorted([(thread.thread_id, SENDER), (thread.thread_id, RECIPIENT)], key=_agency)


async def test_views_recorded_before_tracker_0003_are_kept_as_thread_views(
    sql_tracker_backend: TrackerBackend,
) -> None:
    assert sql_tracker_backend.url is not None
    thread_id = Thread().thread_id
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "tracker_0001")
            await connection.execute(
                text('INSERT INTO page_views ("user", thread_id, at) VALUES (:u, :t, :at)'),
                {"u": "coordinator-ann", "t": thread_id, "at": 12.5},
            )
    finally:
        await engine.dispose()
    store = (await sql_tracker_backend.open()).store  # migrates to the head
    assert await store.views(thread_id) == [("coordinator-ann", 12.5)]
    assert await store.view_log(limit=5) == [
        ViewRecord("coordinator-ann", 12.5, "thread", thread_id)
    ]
    await store.record_view(ViewRecord("coordinator-ann", 13.0, "page:declined", None, "kind=x"))
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.begin() as connection:  # and back: list views cannot go there
            await connection.run_sync(_upgrade_to, "tracker_0001", down=True)
            rows = (await connection.execute(text("SELECT thread_id FROM page_views"))).all()
    finally:
        await engine.dispose()
    assert rows == [(thread_id,)]


def test_unsupported_databases_are_refused() -> None:
    with pytest.raises(UnsupportedDatabase):
        SqlTrackerStore("sqlite+aiosqlite:///:memory:")


async def test_ingest_is_committed_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    store = SqlTrackerStore(f"sqlite+aiosqlite:///{path}")
    await store.create()
    thread = Thread()
    await TrackerLedger(store, DEFAULT_POLICY, COORDINATORS).ingest([thread.original(T0)], 1.0)
    with sqlite3.connect(path) as other:  # as another process would read it
        rows = other.execute("SELECT thread_id, phase, next_check_at FROM threads").fetchall()
    await store.close()
    assert rows == [(thread.thread_id, "sent", T0 + 4 * HOUR)]


async def test_a_failing_ingest_stores_nothing_of_it(sql_tracker_backend: TrackerBackend) -> None:
    store = await sql_tracker_backend.open()
    good, bad = Thread(), Thread()
    # Deliberately invalid (NOT NULL sender): fails after the good event's row went in.
    broken = replace(bad.original(T0), sender=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"^ingest failed"):
        await store.ingest([good.original(T0), broken], 1.0)
    assert await store.store.thread(good.thread_id) is None
    assert await store.store.timeline(good.thread_id) == []
    metrics = await store.store.metrics(T0)
    assert (metrics["open_threads"], metrics["last_event_received_at"]) == (0, None)


async def test_batches_larger_than_one_in_list(sql_tracker_backend: TrackerBackend) -> None:
    store = await sql_tracker_backend.open()
    threads = [Thread(MessageKind.REFERRAL, Urgency.HIGH) for _ in range(1100)]
    originals = [thread.original(T0) for thread in threads]
    assert all(await store.ingest(originals, 1.0))
    raised = await store.sweep(T0 + HOUR, limit=700)
    assert len(raised) == 3 * 1100 == len(set(keys(raised)))
    assert await store.sweep(T0 + HOUR) == []
    await store.store.mark_alerts_published(keys(raised), 2.0)
    assert await owed(store.store, 10) == []


async def test_two_trackers_sweeping_together_record_each_alert_once(
    sql_tracker_backend: TrackerBackend,
) -> None:
    one, two = await sql_tracker_backend.open(), await sql_tracker_backend.open()
    threads = [Thread(MessageKind.REFERRAL, Urgency.HIGH) for _ in range(120)]
    await one.ingest([thread.original(T0) for thread in threads], 1.0)
    for now in (T0 + HOUR, T0 + 2 * HOUR):
        first, second = await asyncio.gather(one.sweep(now, limit=7), two.sweep(now, limit=5))
        together = keys(first) + keys(second)
        assert len(together) == len(set(together))
        expected = 3 if now == T0 + HOUR else 4  # reminders, then escalations
        assert len(together) == expected * len(threads)
        assert {thread_of(record) for record in first + second} == {t.thread_id for t in threads}
    stored = await owed(one.store, 10_000)
    assert sorted(keys(stored)) == sorted(set(keys(stored)))
    assert len(stored) == 7 * len(threads)


async def test_two_trackers_ingesting_one_thread_together_fold_all_of_it(
    sql_tracker_backend: TrackerBackend,
) -> None:
    one, two = await sql_tracker_backend.open(), await sql_tracker_backend.open()
    threads = [Thread(MessageKind.TRANSFER, None) for _ in range(200)]
    events = {}
    for thread in threads:
        sent = thread.original(T0)
        answers = [thread.answer(sent, AckStatus.RECEIVED, T0 + 1)]
        answers.append(thread.answer(sent, AckStatus.ACCEPTED, T0 + 2))
        events[thread.thread_id] = [sent, *answers]
    await one.ingest([events[t.thread_id][0] for t in threads], 1.0)
    # Each store refolds from what it sees: without a lock, the last commit would win.
    received, accepted = ([events[t.thread_id][i] for t in threads] for i in (1, 2))
    await asyncio.gather(one.ingest(received, 2.0), two.ingest(accepted, 3.0))
    for thread in threads:
        row = await one.store.thread(thread.thread_id)
        assert row is not None
        assert row.state == thread_state(thread.thread_id, events[thread.thread_id])
        assert row.state.phase is Phase.ACCEPTED


async def test_two_trackers_opening_one_new_thread_together_admit_one_opener(
    sql_tracker_backend: TrackerBackend,
) -> None:
    one, two = await sql_tracker_backend.open(), await sql_tracker_backend.open()
    threads = [Thread() for _ in range(200)]
    # Neither thread is stored yet when both read its claim: without a lock on the thread
    # id, both would admit their sender as its opener and the last fold would win.
    sent = [thread.original(T0) for thread in threads]
    takeovers = [thread.original(T0 - HOUR, sender=STRANGER) for thread in threads]
    admitted, intruded = await asyncio.gather(one.ingest(sent, 1.0), two.ingest(takeovers, 2.0))
    together = zip(threads, sent, takeovers, admitted, intruded, strict=True)
    for thread, real, takeover, real_in, takeover_in in together:
        assert real_in != takeover_in  # the later of the two was refused
        opener, refused = (real, takeover) if real_in else (takeover, real)
        row = await one.store.thread(thread.thread_id)
        assert row is not None
        assert row.state.sender == opener.sender
        timeline = await one.store.timeline(thread.thread_id)
        assert [event.message_id for event in timeline] == [opener.message_id]
        refusals = await one.store.refusals(thread.thread_id)
        assert [refusal.message_id for refusal in refusals] == [refused.message_id]


def _upgrade_to(connection: Connection, revision: str, *, down: bool = False) -> None:
    move = command.downgrade if down else command.upgrade
    move(migrate.alembic_config("tracker", connection), revision)


def _downgrade(connection: Connection) -> None:
    command.downgrade(migrate.alembic_config("tracker", connection), "base")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"version_table": "caselink_tracker_version", "compare_type": True}
    )
    return list(compare_metadata(context, metadata))


def _agency(row: tuple[str, str]) -> str:
    return row[1]
