"""The TrackerLedger contract, write side: ingest, sweep, alert outbox (memory, SQLite, PG).

The clock is integer Unix seconds from T0, passed in; nothing reads the wall clock.
Dashboard reads are in test_tracker_store_queries.py, same fixtures.
"""

import asyncio
from itertools import permutations

import pytest

from broker.tracker.errors import NoCoordinators
from broker.tracker.ledger import TrackerLedger
from broker.tracker.listings import ACCEPTED_NOT_DONE, UNANSWERED
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import RecordedAlert, ThreadFilter
from broker.tracker.schedule import thread_row
from broker.tracker.state import Phase, thread_state
from schemas.alert import Alert
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.integration.store.conftest import COORDINATORS, TrackerBackend
from tests.integration.store.tracker_helpers import keys, owed, rungs, thread_of
from tests.unit.tracker.builders import DAY, HOUR, MINUTE, RECIPIENT, SENDER, STRANGER, T0, Thread

A = AckStatus
NATIONAL, NORTH = COORDINATORS
REMINDED = {RECIPIENT, NATIONAL, NORTH}  # the recipient and every coordinator
ESCALATED = {NATIONAL, NORTH, SENDER, RECIPIENT}  # coordinators and both supervisors


def ladder(level: str, reason: str, agencies: set[str]) -> set[tuple[str, str, str]]:
    return {(level, reason, agency) for agency in agencies}


# Ingest


async def test_ingest_reports_new_events_and_ignores_repeats(tracker: TrackerLedger) -> None:
    thread = Thread()
    sent = thread.original(T0)
    received = thread.answer(sent, A.RECEIVED, T0 + 5)
    assert await tracker.ingest([sent, received, sent], 10.0) == [True, True, False]
    assert await tracker.ingest([received], 20.0) == [False]
    assert await tracker.ingest([], 30.0) == []
    timeline = await tracker.store.timeline(thread.thread_id)
    assert [(e.message_id, e.received_at) for e in timeline] == [
        (sent.message_id, 10.0),
        (received.message_id, 10.0),
    ]
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.phase, row.updated_at) == (Phase.DELIVERED, 10.0)


@pytest.mark.parametrize("order", list(permutations(range(3))))
async def test_any_arrival_order_gives_the_in_order_state(
    tracker: TrackerLedger, order: tuple[int, ...]
) -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    sent = thread.original(T0)
    events = [
        sent,
        thread.answer(sent, A.RECEIVED, T0 + 1),
        thread.answer(sent, A.ACCEPTED, T0 + 9),
    ]
    for step, index in enumerate(order):
        await tracker.ingest([events[index]], 100.0 + step)
    expected = thread_row(thread_state(thread.thread_id, events), DEFAULT_POLICY, set(), 102.0)
    assert await tracker.store.thread(thread.thread_id) == expected
    assert expected.state.phase is Phase.ACCEPTED
    assert expected.state.responsibility == RECIPIENT


async def test_answers_before_their_original_wait_then_fold(tracker: TrackerLedger) -> None:
    thread = Thread()
    sent = thread.original(T0)
    await tracker.ingest([thread.answer(sent, A.DECLINED, T0 + 5)], 1.0)
    early = await tracker.store.thread(thread.thread_id)
    assert early is not None
    assert (early.state.phase, early.state.kind, early.next_check_at) == (Phase.UNKNOWN, None, None)
    await tracker.ingest([sent], 2.0)
    late = await tracker.store.thread(thread.thread_id)
    assert late is not None
    assert (late.state.phase, late.state.closed_at) == (Phase.DECLINED, T0 + 5)
    assert await tracker.store.thread(Thread().thread_id) is None


# A thread's parties: fixed by arrival (broker/tracker/parties.py)


def alert_bodies(recorded: list[RecordedAlert]) -> list[Alert]:
    return [Alert.model_validate_json(record.alert_json) for record in recorded]


async def test_a_third_agency_cannot_take_over_a_thread(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)  # delivery due in an hour
    sent = thread.original(T0)
    assert await tracker.ingest([sent], 1.0) == [True]
    # Another member agency learns the thread id and sends a validly signed referral
    # carrying it, dated a day before the real one: earlier, so it used to become the opener.
    takeover = thread.original(T0 - DAY, sender=STRANGER, recipient=RECIPIENT)
    assert await tracker.ingest([takeover], 2.0) == [False]
    assert await tracker.ingest([takeover], 3.0) == [False]  # redelivered: nothing new
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.opened_at, row.current_deadline) == (
        SENDER,
        T0,
        T0 + HOUR,
    )
    assert [e.message_id for e in await tracker.store.timeline(thread.thread_id)] == [
        sent.message_id
    ]
    [refusal] = await tracker.store.refusals(thread.thread_id)
    assert (refusal.message_id, refusal.sender, refusal.reason, refusal.received_at) == (
        takeover.message_id,
        STRANGER,
        "not_a_party",
        2.0,
    )
    announced = await owed(tracker.store, 10)
    assert rungs(announced) == ladder("refused", "not_a_party", set(COORDINATORS))
    assert {(a.thread_id, a.message_id, a.sender) for a in alert_bodies(announced)} == {
        (thread.thread_id, takeover.message_id, STRANGER)
    }
    # The intruder's supervisors do not see the thread; the real parties' deadline stands.
    assert await tracker.store.threads(UNANSWERED, ThreadFilter(involving=STRANGER)) == []
    overdue = await tracker.sweep(T0 + HOUR)
    assert rungs(overdue) == ladder("reminder", "delivery_overdue", REMINDED)


async def test_a_message_refused_in_a_batch_leaves_the_rest_of_it(tracker: TrackerLedger) -> None:
    thread = Thread()
    sent = thread.original(T0)
    takeover = thread.original(T0 - HOUR, sender=STRANGER)
    received = thread.answer(sent, A.RECEIVED, T0 + 5)
    assert await tracker.ingest([sent, takeover, received], 1.0) == [True, False, True]
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.phase) == (SENDER, Phase.DELIVERED)


async def test_a_back_dated_original_from_a_party_does_not_reopen_the_thread(
    tracker: TrackerLedger,
) -> None:
    thread = Thread()
    sent = thread.original(T0)
    await tracker.ingest([sent, thread.answer(sent, A.RECEIVED, T0 + 5)], 1.0)
    # The recipient, a party, sends an original of its own into the thread, back-dated.
    back_dated = thread.original(T0 - DAY, sender=RECIPIENT, recipient=SENDER)
    assert await tracker.ingest([back_dated], 2.0) == [True]
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.recipients, row.state.opened_at) == (
        SENDER,
        (RECIPIENT,),
        T0,
    )
    assert row.state.phase is Phase.DELIVERED
    assert await owed(tracker.store, 10) == []


async def test_answers_first_fix_the_parties_then_the_first_original_opens(
    tracker: TrackerLedger,
) -> None:
    thread = Thread()
    sent = thread.original(T0)
    await tracker.ingest([thread.answer(sent, A.RECEIVED, T0 + 5)], 1.0)
    takeover = thread.original(T0 - DAY, sender=STRANGER)
    assert await tracker.ingest([takeover], 2.0) == [False]
    assert await tracker.ingest([sent], 3.0) == [True]
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.opened_at, row.state.phase) == (
        SENDER,
        T0,
        Phase.DELIVERED,
    )


async def test_an_agency_a_party_addresses_joins_the_thread(tracker: TrackerLedger) -> None:
    thread = Thread()
    sent = thread.original(T0)
    redirected = thread.answer(sent, A.REDIRECTED, T0 + 60)
    await tracker.ingest([sent, redirected], 1.0)
    # The redirect target is named in the sealed body only; it joins when a party writes
    # to it in the thread (here the sender, referring the case on), and may then answer.
    onward = thread.original(T0 + 120, recipient=STRANGER)
    answer = thread.answer(onward, A.RECEIVED, T0 + 180)
    assert await tracker.ingest([onward], 2.0) == [True]
    assert await tracker.ingest([answer], 3.0) == [True]
    assert [e.sender for e in await tracker.store.timeline(thread.thread_id)] == [
        SENDER,
        RECIPIENT,
        SENDER,
        STRANGER,
    ]
    assert await tracker.store.refusals(thread.thread_id) == []
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.phase) == (SENDER, Phase.REDIRECTED)


# Sweep: the ladder, once


async def test_reminder_at_the_deadline_escalation_at_twice(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)  # delivery 1h, response 3h
    await tracker.ingest([thread.original(T0)], 0.0)
    assert await tracker.sweep(T0 + HOUR - 1) == []
    reminders = await tracker.sweep(T0 + HOUR)
    assert rungs(reminders) == ladder("reminder", "delivery_overdue", REMINDED)
    assert {record.raised_at for record in reminders} == {float(T0 + HOUR)}
    assert await tracker.sweep(T0 + HOUR) == []
    assert await tracker.sweep(T0 + 2 * HOUR - 1) == []
    escalations = await tracker.sweep(T0 + 2 * HOUR)
    assert rungs(escalations) == ladder("escalation", "delivery_overdue", ESCALATED)
    assert {thread_of(record) for record in escalations} == {thread.thread_id}
    assert rungs(await tracker.sweep(T0 + 3 * HOUR)) == ladder(
        "reminder", "response_overdue", REMINDED
    )


async def test_a_late_sweep_raises_every_rung_passed_at_once(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.EMERGENCY)  # delivery 15m, response 1h
    await tracker.ingest([thread.original(T0)], 0.0)
    raised = await tracker.sweep(T0 + 3 * HOUR)
    assert len(raised) == 2 * (3 + 4) == len(set(keys(raised)))
    assert await tracker.sweep(T0 + 30 * HOUR) == []
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.current_deadline, row.next_check_at) == (T0 + 15 * MINUTE, None)


@pytest.mark.parametrize(
    ("kind", "urgency", "reason"),
    [
        (MessageKind.TRANSFER, None, "declined_transfer"),
        (MessageKind.REFERRAL, Urgency.EMERGENCY, "declined_emergency"),
    ],
)
@pytest.mark.parametrize("answer", [A.DECLINED, A.REDIRECTED])
async def test_a_refusal_that_must_not_be_dropped_alerts_at_once(
    tracker: TrackerLedger,
    kind: MessageKind,
    urgency: Urgency | None,
    reason: str,
    answer: AckStatus,
) -> None:
    thread = Thread(kind, urgency)
    sent = thread.original(T0)
    await tracker.ingest([sent], float(T0 + 1))
    assert await tracker.sweep(T0 + 2 * MINUTE) == []
    await tracker.ingest([thread.answer(sent, answer, T0 + 3 * MINUTE)], float(T0 + 3 * MINUTE))
    raised = await tracker.sweep(T0 + 3 * MINUTE)
    assert rungs(raised) == ladder("declined", reason, {NATIONAL, NORTH, SENDER})
    assert await tracker.sweep(T0 + 30 * 24 * HOUR) == []


async def test_an_ordinary_decline_raises_nothing(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0)
    await tracker.ingest([sent, thread.answer(sent, A.DECLINED, T0 + 60)], 1.0)
    assert await tracker.sweep(T0 + 30 * 24 * HOUR) == []


async def test_an_answer_after_a_reminder_moves_the_next_check(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    await tracker.ingest([sent], 0.0)
    assert len(await tracker.sweep(T0 + HOUR)) == 3
    await tracker.ingest([thread.answer(sent, A.RECEIVED, T0 + HOUR + 1)], 1.0)
    row = await tracker.store.thread(thread.thread_id)
    assert row is not None
    assert (row.current_deadline, row.next_check_at) == (T0 + 3 * HOUR, T0 + 3 * HOUR)
    assert await tracker.sweep(T0 + 3 * HOUR - 1) == []
    assert rungs(await tracker.sweep(T0 + 3 * HOUR)) == ladder(
        "reminder", "response_overdue", REMINDED
    )
    await tracker.ingest([thread.answer(sent, A.ACCEPTED, T0 + 4 * HOUR)], 2.0)
    assert await tracker.sweep(T0 + 30 * HOUR) == []


async def test_a_plan_recorded_meets_the_outcome_deadline(tracker: TrackerLedger) -> None:
    # Two normal referrals accepted at the same time (outcome: 7 days); one records its plan.
    planned, unplanned = Thread(), Thread()
    accepted_at = T0 + 60
    batch = []
    for thread in (planned, unplanned):
        sent = thread.original(T0)
        batch += [sent, thread.answer(sent, A.ACCEPTED, accepted_at)]
        if thread is planned:
            batch.append(thread.answer(sent, A.PLANNED, accepted_at + DAY))
    assert all(await tracker.ingest(batch, 1.0))
    row = await tracker.store.thread(planned.thread_id)
    assert row is not None
    assert (row.state.phase, row.current_deadline, row.next_check_at) == (Phase.PLANNED, None, None)
    assert await tracker.sweep(accepted_at + 7 * DAY - 1) == []
    reminders = await tracker.sweep(accepted_at + 7 * DAY)
    assert rungs(reminders) == ladder("reminder", "completion_overdue", REMINDED)
    assert {thread_of(record) for record in reminders} == {unplanned.thread_id}
    escalations = await tracker.sweep(accepted_at + 14 * DAY)
    assert rungs(escalations) == ladder("escalation", "completion_overdue", ESCALATED)
    assert {thread_of(record) for record in escalations} == {unplanned.thread_id}
    # The planned one is open, but no longer listed as owing its outcome.
    owing = await tracker.store.threads(ACCEPTED_NOT_DONE, ThreadFilter())
    assert [r.state.thread_id for r in owing] == [unplanned.thread_id]
    assert (await tracker.store.metrics(accepted_at))["open_threads"] == 2


async def test_each_consent_recipient_is_chased_alone(tracker: TrackerLedger) -> None:
    thread = Thread(MessageKind.CONSENT, None)
    to_hospital = thread.original(T0)
    to_police = thread.original(T0, recipient="police-west")
    await tracker.ingest([to_hospital, to_police], 0.0)
    await tracker.ingest([thread.answer(to_hospital, A.RECEIVED, T0 + HOUR)], 1.0)
    raised = await tracker.sweep(T0 + 24 * HOUR)
    assert rungs(raised) == ladder("reminder", "delivery_overdue", {"police-west", *COORDINATORS})


async def test_nothing_twice_after_a_restart(tracker_backend: TrackerBackend) -> None:
    first = await tracker_backend.open()
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    await first.ingest([thread.original(T0)], 0.0)
    raised = await first.sweep(T0 + HOUR)
    await first.store.close()
    again = await tracker_backend.open()
    assert await again.sweep(T0 + HOUR) == []
    assert await again.sweep(T0 + 2 * HOUR - 1) == []
    assert len(await again.sweep(T0 + 2 * HOUR)) == 4
    assert keys(await owed(again.store, 100))[:3] == keys(raised)


async def test_sweep_works_through_many_chunks(tracker: TrackerLedger) -> None:
    threads = [Thread(MessageKind.REFERRAL, Urgency.HIGH) for _ in range(25)]
    await tracker.ingest([thread.original(T0 + i) for i, thread in enumerate(threads)], 0.0)
    raised = await tracker.sweep(T0 + HOUR + 24, limit=4)
    assert len(raised) == 3 * 25 == len(set(keys(raised)))
    assert {thread_of(record) for record in raised} == {thread.thread_id for thread in threads}
    assert await tracker.sweep(T0 + HOUR + 24, limit=4) == []


async def test_no_coordinators_is_an_error_and_records_nothing(
    tracker_backend: TrackerBackend,
) -> None:
    store = await tracker_backend.open(coordinators=())
    await store.ingest([Thread().original(T0)], 0.0)
    with pytest.raises(NoCoordinators):
        await store.sweep(T0 + 24 * HOUR)
    assert await owed(store.store, 10) == []


# The alert outbox


async def test_unpublished_alerts_oldest_first_until_confirmed(tracker: TrackerLedger) -> None:
    early, late = (
        Thread(MessageKind.REFERRAL, Urgency.HIGH),
        Thread(MessageKind.REFERRAL, Urgency.HIGH),
    )
    await tracker.ingest([early.original(T0), late.original(T0 + 1)], 0.0)
    first = await tracker.sweep(T0 + HOUR)
    second = await tracker.sweep(T0 + HOUR + 1)
    assert {thread_of(r) for r in first} == {early.thread_id}
    assert {thread_of(r) for r in second} == {late.thread_id}
    assert await owed(tracker.store, 100) == by_key(first) + by_key(second)
    assert keys(await owed(tracker.store, 2)) == keys(by_key(first))[:2]
    await tracker.store.mark_alerts_published([*keys(first), "no-such-key"], 50.0)
    await tracker.store.mark_alerts_published(keys(first)[:1], 60.0)  # a repeated confirm
    assert await owed(tracker.store, 100) == by_key(second)
    metrics = await tracker.store.metrics(T0 + HOUR + 1)
    assert (metrics["alerts_raised"], metrics["alerts_unpublished"]) == (6, 3)


def by_key(recorded: list[RecordedAlert]) -> list[RecordedAlert]:
    return sorted(recorded, key=lambda record: record.key)


async def alerts_raised(tracker: TrackerLedger, threads: int) -> list[str]:
    """The keys of the reminders raised for `threads` late referrals (3 each), oldest first."""
    late = [Thread(MessageKind.REFERRAL, Urgency.HIGH) for _ in range(threads)]
    await tracker.ingest([thread.original(T0) for thread in late], 0.0)
    raised = keys(await tracker.sweep(T0 + HOUR))
    assert len(raised) == 3 * threads
    return sorted(raised)  # raised together: oldest first is by key


LEASE_S = 30.0
AT = float(T0 + 2 * HOUR)


async def test_relays_claiming_at_once_never_get_the_same_alert(
    tracker_backend: TrackerBackend,
) -> None:
    # Four relays, each with its own store (a connection pool of its own: on PostgreSQL and
    # SQLite, four connections claiming at once), claiming small batches until none is left.
    relays = [(await tracker_backend.open()).store for _ in range(4)]
    raised = await alerts_raised(await tracker_backend.open(), 60)
    claimed: list[list[str]] = [[] for _ in relays]

    async def claim_all(relay: int) -> None:
        while batch := await relays[relay].claim_unpublished_alerts(
            7, f"relay-{relay}", AT, LEASE_S
        ):
            claimed[relay] += keys(batch)
            await asyncio.sleep(0)  # let the others claim while this one "publishes"
            await relays[relay].mark_alerts_published(keys(batch), AT)

    await asyncio.gather(*(claim_all(relay) for relay in range(len(relays))))
    together = [key for batch in claimed for key in batch]
    assert sorted(together) == sorted(raised)  # each alert once, none missed
    assert sum(1 for batch in claimed if batch) > 1, "the relays did claim at the same time"


async def test_a_lease_keeps_others_off_until_it_ends(tracker: TrackerLedger) -> None:
    store = tracker.store
    raised = await alerts_raised(tracker, 2)
    assert keys(await store.claim_unpublished_alerts(100, "dead", AT, LEASE_S)) == raised
    assert await store.claim_unpublished_alerts(100, "other", AT + LEASE_S - 0.1, LEASE_S) == []
    # The holder itself may claim its own again (its retry after a failed publish).
    assert keys(await store.claim_unpublished_alerts(2, "dead", AT + 1, LEASE_S)) == raised[:2]
    # "dead" never comes back: its lease on the others ends, another relay takes them.
    expired = AT + LEASE_S
    assert keys(await store.claim_unpublished_alerts(100, "other", expired, LEASE_S)) == raised[2:]
    renewed_until = AT + 1 + LEASE_S  # the renewed lease ends too: "other" has them all
    assert keys(await store.claim_unpublished_alerts(100, "other", renewed_until, LEASE_S)) == (
        raised
    )
    # Taken over: the first holder's old lease gives it nothing any more.
    assert await store.claim_unpublished_alerts(100, "dead", renewed_until, LEASE_S) == []


async def test_a_published_alert_is_never_claimed_again(tracker: TrackerLedger) -> None:
    store = tracker.store
    raised = await alerts_raised(tracker, 2)
    assert keys(await store.claim_unpublished_alerts(100, "one", AT, LEASE_S)) == raised
    await store.mark_alerts_published(raised[:4], AT + 1)
    later = AT + 10 * LEASE_S
    # Neither the holder nor another, once the holder's lease has ended.
    assert keys(await store.claim_unpublished_alerts(100, "one", AT + 2, LEASE_S)) == raised[4:]
    assert keys(await store.claim_unpublished_alerts(100, "two", later, LEASE_S)) == raised[4:]
    await store.mark_alerts_published(raised[4:], later + 1)
    assert await store.claim_unpublished_alerts(100, "three", later + 100, LEASE_S) == []


async def test_the_directory_serial_only_goes_up_and_survives_a_restart(
    tracker_backend: TrackerBackend,
) -> None:
    store = (await tracker_backend.open()).store
    assert await store.directory_serial() == 0
    assert (await store.metrics(T0))["directory_serial"] == 0
    assert await store.accept_directory_serial(3, 1.0) == 3
    assert await store.accept_directory_serial(2, 2.0) == 3  # an older one is never kept
    again = (await tracker_backend.open()).store  # a restart, or a second tracker
    assert await again.directory_serial() == 3
    assert (await again.metrics(T0))["directory_serial"] == 3
