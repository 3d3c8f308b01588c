"""The AccessStore contract on every TrackerStore (memory, SQLite, PostgreSQL): dashboard
sessions, the sign-in log and the view records."""

from broker.tracker.access import (
    SignInMethod,
    SignInOutcome,
    SignInRecord,
    ViewRecord,
)
from broker.tracker.ledger import TrackerLedger
from tests.session_contract import sessions_are_kept_revoked_and_forgotten
from tests.unit.tracker.builders import Thread

FORM, BASIC = SignInMethod.FORM, SignInMethod.BASIC
OK, FAILED = SignInOutcome.SUCCEEDED, SignInOutcome.FAILED


async def test_sessions_are_kept_revoked_and_forgotten(tracker: TrackerLedger) -> None:
    await sessions_are_kept_revoked_and_forgotten(tracker.store)


async def test_the_sign_in_log_pages_newest_first(tracker: TrackerLedger) -> None:
    store = tracker.store
    records = [
        SignInRecord("ann", "10.0.0.1", 20.0, OK, FORM),
        SignInRecord("x" * 64, "2001:db8::1", 10.0, FAILED, BASIC),
        SignInRecord("bo", "10.0.0.2", 20.0, FAILED, FORM),  # ties: the later recorded first
        SignInRecord("cy", "10.0.0.3", 30.5, OK, BASIC),
    ]
    for record in records:
        await store.record_sign_in(record)
    newest = [records[3], records[2], records[0], records[1]]
    assert await store.sign_ins(limit=10) == newest
    assert await store.sign_ins(limit=2, offset=1) == newest[1:3]


async def test_views_of_threads_lists_and_figures(tracker: TrackerLedger) -> None:
    store = tracker.store
    one, other = Thread().thread_id, Thread().thread_id
    records = [
        ViewRecord("coordinator-ann", 20.0, "page:thread", one),
        ViewRecord("supervisor-bo", 10.0, "api:timeline", one),
        ViewRecord("coordinator-ann", 15.0, "api:thread", other),
        ViewRecord("coordinator-ann", 30.5, "page:thread", one),
        ViewRecord("coordinator-ann", 30.5, "export:unanswered", None, "agency=hospital-east"),
        ViewRecord("supervisor-bo", 40.0, "fragment:declined", None, "kind=transfer&limit=200"),
    ]
    for record in records:
        await store.record_view(record)
    assert await store.views(one) == [
        ("supervisor-bo", 10.0),
        ("coordinator-ann", 20.0),
        ("coordinator-ann", 30.5),
    ]
    assert await store.views(other) == [("coordinator-ann", 15.0)]
    assert await store.views(Thread().thread_id) == []
    newest = [records[5], records[4], records[3], records[0], records[2], records[1]]
    assert await store.view_log(limit=10) == newest
    assert await store.view_log(limit=3, offset=2) == newest[2:5]
