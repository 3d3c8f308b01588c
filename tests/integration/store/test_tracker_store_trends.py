"""The TrackerStore contract for the dashboard's trends: per recipient agency and week of
issue, received, overdue at the deadline (a reminder raised to that recipient) and median
times, on every store; the SQL stores read a year in a fixed number of grouped statements."""

from typing import Any

import pytest
from sqlalchemy import event

from broker.store.tracker_store import SqlTrackerStore
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.records import AgencyWeek, ThreadFilter
from broker.tracker.trends import WEEK, trend_window, week_start
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.integration.store.conftest import TrackerBackend
from tests.unit.tracker.builders import DAY, HOUR, T0, Thread

A = AckStatus
R, T = MessageKind.REFERRAL, MessageKind.TRANSFER
HOSPITAL, SOCIAL, POLICE, SCHOOL = "hospital-east", "social-north", "police-west", "school-south"
W = week_start(T0)  # Monday 2023-11-13; T0 is the Tuesday after
SINCE, UNTIL = W - WEEK, W + 2 * WEEK
SWEPT_AT = T0 + WEEK + 3 * DAY


def thread(
    batch: list[TrackedEvent],
    kind: MessageKind,
    urgency: Urgency | None,
    recipient: str,
    at: int,
    *answers: tuple[AckStatus, int],
    sender: str = SOCIAL,
) -> None:
    made = Thread(kind, urgency)
    sent = made.original(at, sender=sender, recipient=recipient)
    batch.extend([sent, *(made.answer(sent, status, when) for status, when in answers)])


@pytest.fixture
async def seeded(tracker: TrackerLedger) -> TrackerLedger:
    batch: list[TrackedEvent] = []
    # Week W, hospital: on time; received but never answered; never received.
    thread(batch, R, Urgency.HIGH, HOSPITAL, T0, (A.RECEIVED, T0 + 60), (A.ACCEPTED, T0 + 120))
    thread(batch, R, Urgency.NORMAL, HOSPITAL, T0, (A.RECEIVED, T0 + 30), sender=SCHOOL)
    thread(batch, R, Urgency.EMERGENCY, HOSPITAL, T0 + 10)
    # Week W, police: a transfer never received.
    thread(batch, T, None, POLICE, T0 + HOUR)
    # Week W+1, hospital: on time.
    later = T0 + WEEK
    thread(
        batch,
        R,
        Urgency.NORMAL,
        HOSPITAL,
        later,
        (A.RECEIVED, later + 100),
        (A.DECLINED, later + 1000),
    )
    # Outside the span, and a kind the trends do not count.
    thread(batch, R, Urgency.NORMAL, HOSPITAL, SINCE - 1)
    thread(batch, R, Urgency.NORMAL, HOSPITAL, UNTIL)
    thread(batch, MessageKind.CONSENT, None, HOSPITAL, T0)
    await tracker.ingest(batch, float(T0))
    await tracker.sweep(SWEPT_AT)
    return tracker


async def test_agency_weeks(seeded: TrackerLedger) -> None:
    weeks = await seeded.store.agency_weeks(ThreadFilter(), SINCE, UNTIL)
    assert weeks == [
        AgencyWeek(
            HOSPITAL, W, received=3, overdue=2, median_receipt_s=45.0, median_answer_s=120.0
        ),
        AgencyWeek(HOSPITAL, W + WEEK, 1, 0, 100.0, 1000.0),
        AgencyWeek(POLICE, W, received=1, overdue=1, median_receipt_s=None, median_answer_s=None),
    ]


async def test_agency_weeks_filtered(seeded: TrackerLedger) -> None:
    store = seeded.store
    assert await store.agency_weeks(ThreadFilter(urgency="emergency"), SINCE, UNTIL) == [
        AgencyWeek(HOSPITAL, W, 1, 1, None, None)
    ]
    # A school supervisor's scope: only the thread the school sent.
    assert await store.agency_weeks(ThreadFilter(involving=SCHOOL), SINCE, UNTIL) == [
        AgencyWeek(HOSPITAL, W, 1, 1, 30.0, None)
    ]
    assert await store.agency_weeks(ThreadFilter(kind="transfer"), SINCE, UNTIL) == [
        AgencyWeek(POLICE, W, 1, 1, None, None)
    ]
    assert await store.agency_weeks(ThreadFilter(), W + 3 * WEEK, W + 4 * WEEK) == []


async def test_not_overdue_before_the_reminder(tracker: TrackerLedger) -> None:
    batch: list[TrackedEvent] = []
    thread(batch, R, Urgency.EMERGENCY, HOSPITAL, T0)
    await tracker.ingest(batch, float(T0))
    await tracker.sweep(T0 + 60)  # the 15-minute delivery deadline has not passed
    [week] = await tracker.store.agency_weeks(ThreadFilter(), SINCE, UNTIL)
    assert (week.received, week.overdue) == (1, 0)
    await tracker.sweep(T0 + 16 * 60)
    [week] = await tracker.store.agency_weeks(ThreadFilter(), SINCE, UNTIL)
    assert (week.received, week.overdue) == (1, 1)


async def test_a_year_is_read_in_three_statements(sql_tracker_backend: TrackerBackend) -> None:
    tracker = await sql_tracker_backend.open()
    batch: list[TrackedEvent] = []
    since, until = trend_window(T0)
    for week in range(since, until, WEEK):
        for recipient in (HOSPITAL, POLICE):
            thread(batch, R, Urgency.NORMAL, recipient, week + HOUR, (A.RECEIVED, week + 2 * HOUR))
    await tracker.ingest(batch, float(T0))
    store = tracker.store
    assert isinstance(store, SqlTrackerStore)
    statements: list[str] = []

    def seen(*args: Any) -> None:
        statements.append(args[2])

    sync_engine = store._engine.sync_engine  # the store offers no public hook
    event.listen(sync_engine, "before_cursor_execute", seen)
    try:
        weeks = await store.agency_weeks(ThreadFilter(), since, until)
    finally:
        event.remove(sync_engine, "before_cursor_execute", seen)
    assert len(weeks) == 2 * 52
    assert {w.median_receipt_s for w in weeks} == {float(HOUR)}
    selects = [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]
    assert len(selects) == 3
