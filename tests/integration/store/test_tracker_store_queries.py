"""The TrackerStore contract, read through the ledger: lists, filters, figures, metrics.

One scene of threads is ingested per test; `now` is two hours after T0.
"""

from dataclasses import dataclass

import pytest

from broker.tracker.ledger import TrackerLedger
from broker.tracker.listings import (
    ACCEPTED_NOT_DONE,
    CONSENT_WITHDRAWALS_PENDING,
    DECLINED,
    TRANSFERS_IN_LIMBO,
    TRANSFERS_TAKEN,
    UNANSWERED,
)
from broker.tracker.records import AgencyFigures, ThreadFilter, ThreadRow
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, MINUTE, T0, Thread

A = AckStatus
NOW = T0 + 2 * HOUR
HOSPITAL, SOCIAL, SCHOOL, POLICE, EAST = (
    "hospital-east",
    "social-north",
    "school-south",
    "police-west",
    "social-east",
)


@dataclass
class Scene:
    """Thread ids by role in the scene (see `scene`)."""

    high: str  # referral social -> hospital, sent at T0: delivery due T0+1h, overdue
    normal: str  # referral school -> hospital, received at +60s: response due T0+24h
    emergency: str  # referral police -> social, sent at T0+10: due T0+10+15m, overdue
    accepted: str  # low referral school -> hospital: received +50s, accepted +80s
    transfer: str  # social -> east, sent at T0: delivery due T0+4h
    declined: str  # transfer east -> social, opened T0-100, declined at T0+100
    redirected: str  # normal referral social -> police, redirected at T0+200
    consent: str  # withdrawal social -> hospital and police; hospital acknowledged
    done: str  # withdrawal social -> hospital, acknowledged


@pytest.fixture
async def scene(tracker: TrackerLedger) -> Scene:
    def thread(
        kind: MessageKind,
        urgency: Urgency | None,
        sender: str,
        recipient: str,
        at: int,
        *answers: tuple[A, int],
    ) -> str:
        made = Thread(kind, urgency)
        sent = made.original(at, sender=sender, recipient=recipient)
        batch.extend([sent, *(made.answer(sent, status, when) for status, when in answers)])
        return made.thread_id

    batch: list = []  # type: ignore[type-arg]
    R, T = MessageKind.REFERRAL, MessageKind.TRANSFER
    found = Scene(
        high=thread(R, Urgency.HIGH, SOCIAL, HOSPITAL, T0),
        normal=thread(R, Urgency.NORMAL, SCHOOL, HOSPITAL, T0, (A.RECEIVED, T0 + 60)),
        emergency=thread(R, Urgency.EMERGENCY, POLICE, SOCIAL, T0 + 10),
        accepted=thread(
            R, Urgency.LOW, SCHOOL, HOSPITAL, T0, (A.RECEIVED, T0 + 50), (A.ACCEPTED, T0 + 80)
        ),
        transfer=thread(T, None, SOCIAL, EAST, T0),
        declined=thread(T, None, EAST, SOCIAL, T0 - 100, (A.DECLINED, T0 + 100)),
        redirected=thread(R, Urgency.NORMAL, SOCIAL, POLICE, T0, (A.REDIRECTED, T0 + 200)),
        consent="",
        done=thread(MessageKind.CONSENT, None, SOCIAL, HOSPITAL, T0, (A.RECEIVED, T0 + 5)),
    )
    consent = Thread(MessageKind.CONSENT, None)
    to_hospital = consent.original(T0, sender=SOCIAL, recipient=HOSPITAL)
    to_police = consent.original(T0, sender=SOCIAL, recipient=POLICE)
    batch += [to_hospital, to_police, consent.answer(to_hospital, A.RECEIVED, T0 + 7)]
    found.consent = consent.thread_id
    # Reversed: the store must not depend on arrival order.
    assert all(await tracker.ingest(batch[::-1], float(T0 + HOUR)))
    return found


def ids(rows: list[ThreadRow]) -> list[str]:
    return [row.state.thread_id for row in rows]


async def test_unanswered_earliest_deadline_first(tracker: TrackerLedger, scene: Scene) -> None:
    rows = await tracker.store.threads(UNANSWERED, ThreadFilter())
    assert ids(rows) == [scene.emergency, scene.high, scene.transfer, scene.normal]
    assert [row.current_deadline for row in rows] == [
        T0 + 10 + 15 * MINUTE,
        T0 + HOUR,
        T0 + 4 * HOUR,
        T0 + 24 * HOUR,
    ]
    assert rows[1] == await tracker.store.thread(scene.high)
    assert ids(await tracker.store.threads(UNANSWERED, ThreadFilter(), limit=2, offset=1)) == [
        scene.high,
        scene.transfer,
    ]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (ThreadFilter(involving=HOSPITAL), ["high", "normal"]),
        (ThreadFilter(involving=SOCIAL), ["emergency", "high", "transfer"]),
        (ThreadFilter(agency=SCHOOL), ["normal"]),
        (ThreadFilter(involving=SOCIAL, agency=HOSPITAL), ["high"]),
        (ThreadFilter(kind="transfer"), ["transfer"]),
        (ThreadFilter(urgency="high"), ["high"]),
        (ThreadFilter(phase="delivered"), ["normal"]),
        (ThreadFilter(involving="nobody-here"), []),
    ],
)
async def test_unanswered_filters(
    tracker: TrackerLedger, scene: Scene, flt: ThreadFilter, expected: list[str]
) -> None:
    rows = await tracker.store.threads(UNANSWERED, flt)
    assert ids(rows) == [getattr(scene, name) for name in expected]


async def test_declined_newest_first(tracker: TrackerLedger, scene: Scene) -> None:
    rows = await tracker.store.threads(DECLINED, ThreadFilter())
    assert ids(rows) == [scene.redirected, scene.declined]
    assert ids(await tracker.store.threads(DECLINED, ThreadFilter(kind="transfer"))) == [
        scene.declined
    ]
    assert ids(await tracker.store.threads(DECLINED, ThreadFilter(involving=POLICE))) == [
        scene.redirected
    ]
    assert ids(await tracker.store.threads(DECLINED, ThreadFilter(), limit=1, offset=1)) == [
        scene.declined
    ]


async def test_transfers_in_limbo_oldest_first(tracker: TrackerLedger, scene: Scene) -> None:
    rows = await tracker.store.threads(TRANSFERS_IN_LIMBO, ThreadFilter())
    assert ids(rows) == [scene.declined, scene.transfer]
    assert [row.state.responsibility for row in rows] == [EAST, SOCIAL]
    assert ids(
        await tracker.store.threads(TRANSFERS_IN_LIMBO, ThreadFilter(involving=EAST), offset=1)
    ) == [scene.transfer]
    assert await tracker.store.threads(TRANSFERS_IN_LIMBO, ThreadFilter(phase="accepted")) == []


async def test_transfers_taken_newest_answer_first(tracker: TrackerLedger, scene: Scene) -> None:
    T = MessageKind.TRANSFER
    first, later, done = Thread(T, None), Thread(T, None), Thread(T, None)
    planned = Thread(T, None)
    sent_planned = planned.original(T0 - 60, sender=SOCIAL, recipient=EAST)
    sent_first = first.original(T0, sender=SOCIAL, recipient=EAST)
    sent_later = later.original(T0 + 10, sender=EAST, recipient=SOCIAL)
    sent_done = done.original(T0 - 50, sender=SOCIAL, recipient=EAST)
    batch = [
        sent_first,
        first.answer(sent_first, A.ACCEPTED, T0 + 300),
        sent_later,
        later.answer(sent_later, A.ACCEPTED, T0 + 400),
        sent_done,
        done.answer(sent_done, A.ACCEPTED, T0 + 100),
        done.answer(sent_done, A.COMPLETED, T0 + 500),
        sent_planned,
        planned.answer(sent_planned, A.ACCEPTED, T0 + 50),
        planned.answer(sent_planned, A.PLANNED, T0 + 600),
    ]
    assert all(await tracker.ingest(batch, float(T0 + HOUR)))
    # A transfer whose plan is recorded is its recipient's, as one accepted or completed.
    [plan] = await tracker.store.threads(TRANSFERS_TAKEN, ThreadFilter(phase="planned"))
    assert (plan.state.thread_id, plan.state.responsibility) == (planned.thread_id, EAST)
    assert plan.current_deadline is None
    assert await tracker.store.threads(ACCEPTED_NOT_DONE, ThreadFilter(phase="planned")) == []
    batch = [planned.answer(sent_planned, A.COMPLETED, T0 + 700)]
    assert all(await tracker.ingest(batch, float(T0 + HOUR)))
    rows = await tracker.store.threads(TRANSFERS_TAKEN, ThreadFilter())
    # The newest first answer first (the planned, then completed, one was accepted at +50s);
    # the accepted referral of the scene is not a transfer.
    assert ids(rows) == [later.thread_id, first.thread_id, done.thread_id, planned.thread_id]
    assert [row.state.responsibility for row in rows] == [SOCIAL, EAST, EAST, EAST]
    taken = ThreadFilter(involving=SOCIAL, phase="accepted")
    assert ids(await tracker.store.threads(TRANSFERS_TAKEN, taken, limit=1, offset=1)) == [
        first.thread_id
    ]
    # Limbo and taken over never share a transfer.
    limbo = ids(await tracker.store.threads(TRANSFERS_IN_LIMBO, ThreadFilter()))
    assert limbo == [scene.declined, scene.transfer]


async def test_accepted_not_done_oldest_acceptance_first(
    tracker: TrackerLedger, scene: Scene
) -> None:
    R, T = MessageKind.REFERRAL, MessageKind.TRANSFER
    transfer, referral, done = Thread(T, None), Thread(R, Urgency.HIGH), Thread(R, Urgency.LOW)
    sent_transfer = transfer.original(T0, sender=SOCIAL, recipient=EAST)
    sent_referral = referral.original(T0 - 10, sender=SOCIAL, recipient=POLICE)
    sent_done = done.original(T0 - 50, sender=SCHOOL, recipient=HOSPITAL)
    batch = [
        sent_transfer,
        transfer.answer(sent_transfer, A.ACCEPTED, T0 + 60),
        sent_referral,
        referral.answer(sent_referral, A.ACCEPTED, T0 + 200),
        sent_done,
        done.answer(sent_done, A.ACCEPTED, T0 + 10),
        done.answer(sent_done, A.COMPLETED, T0 + 500),
    ]
    assert all(await tracker.ingest(batch, float(T0 + HOUR)))
    rows = await tracker.store.threads(ACCEPTED_NOT_DONE, ThreadFilter())
    # Accepted at +60s, +80s (the scene's low referral), +200s; the completed one is done.
    assert ids(rows) == [transfer.thread_id, scene.accepted, referral.thread_id]
    # Each carries its outcome deadline: 30 days for a transfer, 3 for a high referral.
    assert [row.current_deadline for row in rows[::2]] == [T0 + 60 + 30 * DAY, T0 + 200 + 3 * DAY]
    hospital = ThreadFilter(involving=HOSPITAL)
    assert ids(await tracker.store.threads(ACCEPTED_NOT_DONE, hospital)) == [scene.accepted]
    page = await tracker.store.threads(ACCEPTED_NOT_DONE, ThreadFilter(), limit=1, offset=1)
    assert ids(page) == [scene.accepted]


async def test_consent_withdrawals_pending(tracker: TrackerLedger, scene: Scene) -> None:
    rows = await tracker.store.threads(CONSENT_WITHDRAWALS_PENDING, ThreadFilter())
    assert ids(rows) == [scene.consent]
    assert rows[0].state.acknowledged == frozenset({HOSPITAL})
    assert ids(
        await tracker.store.threads(CONSENT_WITHDRAWALS_PENDING, ThreadFilter(involving=POLICE))
    ) == [scene.consent]
    assert (
        await tracker.store.threads(CONSENT_WITHDRAWALS_PENDING, ThreadFilter(involving=SCHOOL))
        == []
    )


async def test_agency_figures(tracker: TrackerLedger, scene: Scene) -> None:
    figures = await tracker.store.agency_figures(ThreadFilter(), NOW)
    assert figures == [
        # hospital: high (overdue), normal, accepted open; receipts 60 and 50; one answer 80
        AgencyFigures(HOSPITAL, open=3, overdue=1, median_receipt_s=55.0, median_answer_s=80.0),
        AgencyFigures(POLICE, open=0, overdue=0, median_receipt_s=200.0, median_answer_s=200.0),
        AgencyFigures(EAST, open=1, overdue=0, median_receipt_s=None, median_answer_s=None),
        AgencyFigures(SOCIAL, open=1, overdue=1, median_receipt_s=200.0, median_answer_s=200.0),
    ]
    hospital_only = await tracker.store.agency_figures(ThreadFilter(involving=SCHOOL), NOW)
    assert hospital_only == [
        AgencyFigures(HOSPITAL, open=2, overdue=0, median_receipt_s=55.0, median_answer_s=80.0)
    ]
    later = await tracker.store.agency_figures(ThreadFilter(urgency="normal"), T0 + 25 * HOUR)
    assert [(f.agency, f.open, f.overdue) for f in later] == [(HOSPITAL, 1, 1), (POLICE, 0, 0)]


async def test_an_odd_count_has_its_middle_value_as_median(tracker: TrackerLedger) -> None:
    batch = []
    for delay in (30, 10, 500):
        thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
        sent = thread.original(T0)
        batch += [sent, thread.answer(sent, A.RECEIVED, T0 + delay)]
    await tracker.ingest(batch, 1.0)
    [figures] = await tracker.store.agency_figures(ThreadFilter(), T0)
    assert (figures.median_receipt_s, figures.median_answer_s) == (30.0, None)


async def test_metrics(tracker: TrackerLedger, scene: Scene) -> None:
    assert await tracker.store.metrics(NOW) == {
        "open_threads": 6,  # high, normal, emergency, accepted, transfer, consent
        "overdue": {(HOSPITAL, "high"): 1, (SOCIAL, "emergency"): 1},
        "alerts_raised": 0,
        "alerts_unpublished": 0,
        "last_event_received_at": float(T0 + HOUR),
        "directory_serial": 0,
    }
    # A day on, the consent withdrawal is overdue for the police only: the hospital answered.
    overdue = (await tracker.store.metrics(T0 + 25 * HOUR))["overdue"]
    assert overdue == {
        (HOSPITAL, "high"): 1,
        (HOSPITAL, "normal"): 1,
        (SOCIAL, "emergency"): 1,
        (EAST, "none"): 1,
        (POLICE, "none"): 1,
    }


async def test_metrics_of_an_empty_store(tracker: TrackerLedger) -> None:
    assert await tracker.store.metrics(NOW) == {
        "open_threads": 0,
        "overdue": {},
        "alerts_raised": 0,
        "alerts_unpublished": 0,
        "last_event_received_at": None,
        "directory_serial": 0,
    }


async def test_timeline_in_issued_order(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    received = thread.answer(sent, A.RECEIVED, T0 + 5)
    accepted = thread.answer(sent, A.ACCEPTED, T0 + 5)  # same second: arrival decides
    await tracker.ingest([received], 2.0)
    await tracker.ingest([accepted], 3.0)
    await tracker.ingest([sent], 4.0)
    timeline = await tracker.store.timeline(thread.thread_id)
    assert [(e.message_id, e.received_at) for e in timeline] == [
        (sent.message_id, 4.0),
        (received.message_id, 2.0),
        (accepted.message_id, 3.0),
    ]
    assert (timeline[1].kind, timeline[1].sender, timeline[1].recipient) == (
        "acknowledgement",
        sent.recipient,
        sent.sender,
    )
    assert [entry.status for entry in timeline] == [None, "received", "accepted"]
    assert (timeline[0].issued_at, timeline[0].recipient) == (T0, sent.recipient)
    assert await tracker.store.timeline(Thread().thread_id) == []
