"""A tracker's store made by the previous release, upgraded in place by this one (as
`caselink tracker` does at start): every row kept, as the dashboard reads it, and the ledger
goes on folding its threads. SQLite and PostgreSQL."""

from pathlib import Path

from broker.store import migrate
from broker.store.engine import make_engine
from broker.store.tracker_store import SqlTrackerStore
from broker.tracker import listings
from broker.tracker.access import SignInMethod, SignInOutcome, SignInRecord, ViewRecord
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import ThreadFilter
from broker.tracker.state import Phase
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.integration.store.conftest import COORDINATORS, TrackerBackend
from tests.integration.store.previous_release import previous_release_store, rows_now
from tests.integration.store.tracker_helpers import owed
from tests.session_contract import session
from tests.unit.tracker.builders import HOUR, STRANGER, T0, Thread

LISTINGS = [
    listings.UNANSWERED,
    listings.DECLINED,
    listings.TRANSFERS_IN_LIMBO,
    listings.TRANSFERS_TAKEN,
    listings.ACCEPTED_NOT_DONE,
]
NOW = T0 + 30 * 24 * HOUR


async def fill(tracker: TrackerLedger) -> tuple[list[str], TrackedEvent]:
    """Threads in several phases, a refused event, alerts (one published), sign-ins, views,
    a dashboard session, a directory serial; returns the thread ids and the first original
    (of a thread still unanswered)."""
    late, declined, accepted = Thread(urgency=Urgency.HIGH), Thread(), Thread()
    transfer = Thread(MessageKind.TRANSFER, None)
    first = late.original(T0)
    events = [first, late.answer(first, AckStatus.RECEIVED, T0 + 60)]
    for thread, status in ((declined, AckStatus.DECLINED), (accepted, AckStatus.ACCEPTED)):
        sent = thread.original(T0)
        events += [sent, thread.answer(sent, status, T0 + HOUR)]
    events.append(transfer.original(T0))
    await tracker.ingest(events, T0 + 2 * HOUR)
    await tracker.ingest([late.original(T0 + 5, sender=STRANGER)], T0 + 3 * HOUR)  # refused
    raised = await tracker.sweep(NOW)
    assert raised
    store = tracker.store
    await store.mark_alerts_published([raised[0].key], NOW + 1.0)
    await store.record_sign_in(
        SignInRecord("ann", "10.0.0.1", 20.0, SignInOutcome.SUCCEEDED, SignInMethod.FORM)
    )
    await store.record_view(ViewRecord("ann", 21.0, "page:thread", late.thread_id))
    await store.record_view(ViewRecord("ann", 22.0, "export:unanswered", None, "agency=x"))
    await store.add_session(session("ann", 5000.0))
    await store.accept_directory_serial(3, at=4.0)
    return [t.thread_id for t in (late, declined, accepted, transfer)], first


async def everything_read(store: SqlTrackerStore, thread_ids: list[str]) -> dict[str, object]:
    """What the dashboard reads of a store filled by `fill`."""
    everywhere = ThreadFilter()
    return {
        "lists": [await store.threads(listing, everywhere) for listing in LISTINGS],
        "threads": [await store.thread(t) for t in thread_ids],
        "timelines": [await store.timeline(t) for t in thread_ids],
        "refusals": [await store.refusals(t) for t in thread_ids],
        "figures": await store.agency_figures(everywhere, NOW),
        "weeks": await store.agency_weeks(everywhere, T0 - 7 * 24 * HOUR, NOW),
        "unpublished": await owed(store, 100),
        "metrics": await store.metrics(NOW),
        "sign_ins": await store.sign_ins(limit=10),
        "views": await store.view_log(limit=10),
        "session": await store.session(session("ann", 5000.0).session_hash),
        "directory_serial": await store.directory_serial(),
    }


async def test_a_store_of_the_previous_release_is_upgraded_with_its_rows_kept(
    sql_tracker_backend: TrackerBackend, tmp_path: Path
) -> None:
    folder = tmp_path / "now"
    folder.mkdir(mode=0o700)
    source_url = f"sqlite+aiosqlite:///{folder / 'tracker.db'}"
    source = SqlTrackerStore(source_url)
    await source.create()
    thread_ids, first = await fill(TrackerLedger(source, DEFAULT_POLICY, COORDINATORS))
    expected = await everything_read(source, thread_ids)
    await source.close()
    assert sql_tracker_backend.url is not None

    copied = await previous_release_store(source_url, sql_tracker_backend.url, "tracker")
    assert all(copied[table] for table in ("events", "threads", "alerts", "refused_events"))

    tracker = await sql_tracker_backend.open()  # create(): migrates to head, as a start does
    engine = make_engine(sql_tracker_backend.url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(migrate.current, "tracker") == migrate.head("tracker")
    finally:
        await engine.dispose()
    assert await rows_now(sql_tracker_backend.url, copied) == copied
    store = tracker.store
    assert isinstance(store, SqlTrackerStore)
    assert await everything_read(store, thread_ids) == expected
    assert await tracker.sweep(NOW) == []  # the alerts raised before are not raised again
    # The ledger goes on with the upgraded threads: the late one is accepted now.
    answer = Thread(thread_id=first.thread_id).answer(first, AckStatus.ACCEPTED, NOW + 10)
    assert await tracker.ingest([answer], NOW + 20.0) == [True]
    row = await store.thread(first.thread_id)
    assert row is not None
    assert row.state.phase is Phase.ACCEPTED
