"""The escalation ladder, swept with a controllable clock: when each alert is due, and once."""

import pytest

from broker.tracker.escalation import (
    Audience,
    PlannedAlert,
    due_alerts,
    overdue_seconds,
)
from broker.tracker.events import TrackedEvent
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.schedule import current_deadline
from broker.tracker.state import ThreadState, thread_state
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, MINUTE, RECIPIENT, SENDER, T0, Thread

A = AckStatus
L = AlertLevel
R = AlertReason
AUD = Audience
REMINDERS = {(L.REMINDER, AUD.RECIPIENT), (L.REMINDER, AUD.COORDINATORS)}
ESCALATIONS = {
    (L.ESCALATION, AUD.COORDINATORS),
    (L.ESCALATION, AUD.SENDER_SUPERVISORS),
    (L.ESCALATION, AUD.RECIPIENT_SUPERVISORS),
}
URGENCIES = [
    (Urgency.EMERGENCY, 15 * MINUTE, HOUR),
    (Urgency.HIGH, HOUR, 3 * HOUR),
    (Urgency.NORMAL, 4 * HOUR, 24 * HOUR),
    (Urgency.LOW, 24 * HOUR, 72 * HOUR),
]


def state(thread: Thread, *events: TrackedEvent) -> ThreadState:
    return thread_state(thread.thread_id, events)


def rungs(alerts: list[PlannedAlert], reason: AlertReason) -> set[tuple[AlertLevel, Audience]]:
    return {(a.level, a.audience) for a in alerts if a.reason is reason}


def sweep(thread_state_: ThreadState, until: int, every: int = MINUTE) -> list[PlannedAlert]:
    """Run the sweep every `every` seconds from T0, recording keys like the store does."""
    raised: list[PlannedAlert] = []
    keys: set[str] = set()
    for now in range(T0, until + 1, every):
        for alert in due_alerts(thread_state_, DEFAULT_POLICY, now, keys):
            assert alert.key not in keys
            keys.add(alert.key)
            raised.append(alert)
    return raised


@pytest.mark.parametrize(("urgency", "delivery", "response"), URGENCIES)
def test_nothing_before_the_deadline_then_reminder_then_escalation(
    urgency: Urgency, delivery: int, response: int
) -> None:
    thread = Thread(MessageKind.REFERRAL, urgency)
    sent = state(thread, thread.original(T0))

    def at(now: int) -> list[PlannedAlert]:
        return due_alerts(sent, DEFAULT_POLICY, now, set())

    assert at(T0 + delivery - 1) == []
    assert rungs(at(T0 + delivery), R.DELIVERY_OVERDUE) == REMINDERS
    assert rungs(at(T0 + 2 * delivery - 1), R.DELIVERY_OVERDUE) == REMINDERS
    assert rungs(at(T0 + 2 * delivery), R.DELIVERY_OVERDUE) == REMINDERS | ESCALATIONS
    assert rungs(at(T0 + response - 1), R.RESPONSE_OVERDUE) == set()
    assert rungs(at(T0 + response), R.RESPONSE_OVERDUE) == REMINDERS
    assert rungs(at(T0 + 2 * response), R.RESPONSE_OVERDUE) == REMINDERS | ESCALATIONS


def test_each_alert_is_raised_once_however_often_the_sweep_runs() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.EMERGENCY)
    sent = state(thread, thread.original(T0))
    raised = sweep(sent, T0 + 3 * HOUR)
    assert len(raised) == 10  # 2 reasons x (2 reminders + 3 escalations)
    assert len({a.key for a in raised}) == 10
    when = {(a.reason, a.level): a.raised_at for a in raised}
    assert when[R.DELIVERY_OVERDUE, L.REMINDER] == T0 + 15 * MINUTE
    assert when[R.DELIVERY_OVERDUE, L.ESCALATION] == T0 + 30 * MINUTE
    assert when[R.RESPONSE_OVERDUE, L.REMINDER] == T0 + HOUR
    assert when[R.RESPONSE_OVERDUE, L.ESCALATION] == T0 + 2 * HOUR


def test_keys_are_stable_across_sweeps_so_a_restart_raises_nothing_again() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = state(thread, thread.original(T0))
    first = due_alerts(sent, DEFAULT_POLICY, T0 + 7 * HOUR, set())
    later = due_alerts(sent, DEFAULT_POLICY, T0 + 9 * HOUR, set())
    assert [a.key for a in first] == [a.key for a in later]
    assert due_alerts(sent, DEFAULT_POLICY, T0 + 9 * HOUR, {a.key for a in first}) == []
    # Only what was recorded is left out: forgetting one key raises that one alone again.
    missing = first[3]
    recorded = {a.key for a in first} - {missing.key}
    assert [a.key for a in due_alerts(sent, DEFAULT_POLICY, T0 + 9 * HOUR, recorded)] == [
        missing.key
    ]


def test_a_late_sweep_raises_every_rung_it_passed() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = state(thread, thread.original(T0))
    alerts = due_alerts(sent, DEFAULT_POLICY, T0 + 3 * DAY, set())
    assert rungs(alerts, R.DELIVERY_OVERDUE) == REMINDERS | ESCALATIONS
    assert rungs(alerts, R.RESPONSE_OVERDUE) == REMINDERS | ESCALATIONS


def test_alert_fields() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    original = thread.original(T0)
    alerts = due_alerts(state(thread, original), DEFAULT_POLICY, T0 + 2 * HOUR + 5, set())
    by_rung = {(a.reason, a.level, a.audience): a for a in alerts}
    reminder = by_rung[R.DELIVERY_OVERDUE, L.REMINDER, AUD.RECIPIENT]
    assert reminder.key == f"{thread.thread_id}:{RECIPIENT}:delivery_overdue:reminder:recipient"
    assert (reminder.agency, reminder.recipient, reminder.sender) == (RECIPIENT, RECIPIENT, SENDER)
    assert (reminder.thread_id, reminder.message_id) == (thread.thread_id, original.message_id)
    assert (reminder.kind, reminder.raised_at) == (MessageKind.REFERRAL, T0 + 2 * HOUR + 5)
    assert (reminder.deadline, reminder.overdue_seconds) == (T0 + HOUR, HOUR + 5)
    assert by_rung[R.DELIVERY_OVERDUE, L.REMINDER, AUD.COORDINATORS].agency is None
    assert by_rung[R.DELIVERY_OVERDUE, L.ESCALATION, AUD.SENDER_SUPERVISORS].agency == SENDER
    assert by_rung[R.DELIVERY_OVERDUE, L.ESCALATION, AUD.RECIPIENT_SUPERVISORS].agency == RECIPIENT
    assert by_rung[R.DELIVERY_OVERDUE, L.ESCALATION, AUD.COORDINATORS].deadline == T0 + HOUR


def test_respond_by_moves_the_response_ladder() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0, respond_by=T0 + 6 * HOUR)
    delivered = state(thread, sent, thread.answer(sent, A.RECEIVED, T0 + 1))
    assert due_alerts(delivered, DEFAULT_POLICY, T0 + 6 * HOUR - 1, set()) == []
    assert (
        rungs(due_alerts(delivered, DEFAULT_POLICY, T0 + 6 * HOUR, set()), R.RESPONSE_OVERDUE)
        == REMINDERS
    )
    at_twice = due_alerts(delivered, DEFAULT_POLICY, T0 + 12 * HOUR, set())
    assert rungs(at_twice, R.RESPONSE_OVERDUE) == REMINDERS | ESCALATIONS
    assert rungs(at_twice, R.DELIVERY_OVERDUE) == set()


def test_delivered_in_time_leaves_only_the_response_deadline() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    delivered = state(thread, sent, thread.answer(sent, A.RECEIVED, T0 + MINUTE))
    raised = sweep(delivered, T0 + 8 * HOUR)
    assert {a.reason for a in raised} == {R.RESPONSE_OVERDUE}


def test_delivered_after_the_reminder_stops_the_delivery_ladder() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    keys = {a.key for a in due_alerts(state(thread, sent), DEFAULT_POLICY, T0 + HOUR, set())}
    delivered = state(thread, sent, thread.answer(sent, A.RECEIVED, T0 + HOUR + 1))
    later = due_alerts(delivered, DEFAULT_POLICY, T0 + 2 * HOUR, keys)
    assert rungs(later, R.DELIVERY_OVERDUE) == set()


@pytest.mark.parametrize(
    "answers",
    [
        [A.RECEIVED, A.ACCEPTED],
        [A.ACCEPTED],
        [A.RECEIVED, A.ACCEPTED, A.COMPLETED],
        [A.WITHDRAWN],
        [A.RECEIVED, A.WITHDRAWN],
        [A.RECEIVED, A.DECLINED],
        [A.REDIRECTED],
    ],
)
def test_nothing_once_answered_in_time_completed_or_withdrawn(answers: list[AckStatus]) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0)
    events = [thread.answer(sent, status, T0 + i + 1) for i, status in enumerate(answers)]
    assert sweep(state(thread, sent, *events), T0 + 4 * DAY, every=HOUR) == []


def test_accepted_late_stops_the_ladder_before_escalation() -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    sent = thread.original(T0)
    received = thread.answer(sent, A.RECEIVED, T0 + MINUTE)
    waiting = state(thread, sent, received)
    keys = {a.key for a in due_alerts(waiting, DEFAULT_POLICY, T0 + 6 * DAY, set())}
    assert len(keys) == 2  # the reminders at 5 days
    accepted = state(thread, sent, received, thread.answer(sent, A.ACCEPTED, T0 + 6 * DAY))
    assert due_alerts(accepted, DEFAULT_POLICY, T0 + 11 * DAY, keys) == []


def test_transfer_ladder_runs_on_five_days() -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    sent = thread.original(T0)
    delivered = state(thread, sent, thread.answer(sent, A.RECEIVED, T0 + MINUTE))
    assert due_alerts(delivered, DEFAULT_POLICY, T0 + 5 * DAY - 1, set()) == []
    assert (
        rungs(due_alerts(delivered, DEFAULT_POLICY, T0 + 5 * DAY, set()), R.RESPONSE_OVERDUE)
        == REMINDERS
    )
    at_ten = due_alerts(delivered, DEFAULT_POLICY, T0 + 10 * DAY, set())
    assert rungs(at_ten, R.RESPONSE_OVERDUE) == REMINDERS | ESCALATIONS


# --- declined ----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [A.DECLINED, A.REDIRECTED])
def test_a_declined_transfer_is_an_alert_at_once(status: AckStatus) -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    sent = thread.original(T0)
    declined = state(thread, sent, thread.answer(sent, status, T0 + HOUR))
    alerts = due_alerts(declined, DEFAULT_POLICY, T0 + HOUR + 1, set())
    assert {(a.level, a.reason, a.audience) for a in alerts} == {
        (L.DECLINED, R.DECLINED_TRANSFER, AUD.COORDINATORS),
        (L.DECLINED, R.DECLINED_TRANSFER, AUD.SENDER),
    }
    assert {a.agency for a in alerts} == {None, SENDER}
    assert all(a.deadline is None and a.overdue_seconds is None for a in alerts)
    assert due_alerts(declined, DEFAULT_POLICY, T0 + 9 * DAY, {a.key for a in alerts}) == []


@pytest.mark.parametrize("status", [A.DECLINED, A.REDIRECTED])
def test_a_declined_emergency_referral_is_an_alert(status: AckStatus) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.EMERGENCY)
    sent = thread.original(T0)
    declined = state(thread, sent, thread.answer(sent, status, T0 + 5 * MINUTE))
    alerts = due_alerts(declined, DEFAULT_POLICY, T0 + 5 * MINUTE, set())
    assert {(a.level, a.reason, a.audience) for a in alerts} == {
        (L.DECLINED, R.DECLINED_EMERGENCY, AUD.COORDINATORS),
        (L.DECLINED, R.DECLINED_EMERGENCY, AUD.SENDER),
    }


@pytest.mark.parametrize("urgency", [Urgency.HIGH, Urgency.NORMAL, Urgency.LOW])
def test_a_declined_ordinary_referral_is_not_an_alert(urgency: Urgency) -> None:
    thread = Thread(MessageKind.REFERRAL, urgency)
    sent = thread.original(T0)
    declined = state(thread, sent, thread.answer(sent, A.DECLINED, T0 + MINUTE))
    assert due_alerts(declined, DEFAULT_POLICY, T0 + 9 * DAY, set()) == []


def test_a_withdrawn_transfer_is_not_a_declined_alert() -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    sent = thread.original(T0)
    withdrawn = state(thread, sent, thread.answer(sent, A.WITHDRAWN, T0 + MINUTE))
    assert due_alerts(withdrawn, DEFAULT_POLICY, T0 + 9 * DAY, set()) == []


# --- consent withdrawal ------------------------------------------------------------------


def test_consent_withdrawal_chases_each_silent_recipient() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    sent = {r: thread.original(T0, recipient=r) for r in ("school-a", "police-b", "clinic-c")}
    acked = thread.answer(sent["police-b"], A.RECEIVED, T0 + HOUR)
    pending = state(thread, *sent.values(), acked)
    assert due_alerts(pending, DEFAULT_POLICY, T0 + DAY - 1, set()) == []
    reminders = due_alerts(pending, DEFAULT_POLICY, T0 + DAY, set())
    assert {(a.recipient, a.audience) for a in reminders} == {
        ("school-a", AUD.RECIPIENT),
        ("school-a", AUD.COORDINATORS),
        ("clinic-c", AUD.RECIPIENT),
        ("clinic-c", AUD.COORDINATORS),
    }
    assert {a.reason for a in reminders} == {R.DELIVERY_OVERDUE}
    assert len({a.key for a in reminders}) == 4
    assert {a.message_id for a in reminders if a.recipient == "school-a"} == {
        sent["school-a"].message_id
    }
    escalations = due_alerts(pending, DEFAULT_POLICY, T0 + 2 * DAY, {a.key for a in reminders})
    assert {(a.recipient, a.level) for a in escalations} == {
        ("school-a", L.ESCALATION),
        ("clinic-c", L.ESCALATION),
    }
    assert len(escalations) == 6


def test_an_acknowledged_consent_withdrawal_raises_nothing() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    sent = [thread.original(T0, recipient=r) for r in ("school-a", "police-b")]
    acks = [thread.answer(event, A.RECEIVED, T0 + 3 * DAY) for event in sent]
    assert due_alerts(state(thread, *sent, *acks), DEFAULT_POLICY, T0 + 9 * DAY, set()) == []


def test_an_unknown_thread_raises_nothing() -> None:
    thread = Thread()
    answer = thread.answer(thread.original(T0), A.ACCEPTED, T0 + 1)
    unknown = state(thread, answer)
    assert due_alerts(unknown, DEFAULT_POLICY, T0 + 9 * DAY, set()) == []
    assert overdue_seconds(current_deadline(unknown, DEFAULT_POLICY), T0 + 9 * DAY) is None
