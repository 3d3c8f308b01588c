"""The dashboard's lateness figures, and planned alerts turned into Alert bodies."""

import pytest

from broker.errors import CaselinkError
from broker.tracker.escalation import (
    Audience,
    PlannedAlert,
    alert_id,
    alert_id_of,
    due_alerts,
    overdue_seconds,
    to_alerts,
)
from broker.tracker.events import TrackedEvent
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.schedule import current_deadline, outbox_alerts
from broker.tracker.state import ThreadState, thread_state
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, RECIPIENT, SENDER, T0, Thread

A = AckStatus
L = AlertLevel
R = AlertReason
AUD = Audience


def state(thread: Thread, *events: TrackedEvent) -> ThreadState:
    return thread_state(thread.thread_id, events)


# --- dashboard ---------------------------------------------------------------------------


def overdue_by(state: ThreadState, now: int) -> int | None:
    """What the dashboard shows: seconds past the thread's current (earliest unmet) deadline."""
    return overdue_seconds(current_deadline(state, DEFAULT_POLICY), now)


def test_overdue_counts_from_the_earliest_unmet_deadline() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    waiting = state(thread, sent)
    assert overdue_by(waiting, T0 + HOUR - 1) is None
    assert overdue_by(waiting, T0 + HOUR) == 0
    assert overdue_by(waiting, T0 + 4 * HOUR) == 3 * HOUR
    delivered = state(thread, sent, thread.answer(sent, A.RECEIVED, T0 + 1))
    assert overdue_by(delivered, T0 + 4 * HOUR) == HOUR
    accepted = state(thread, sent, thread.answer(sent, A.ACCEPTED, T0 + 5 * HOUR))
    assert overdue_by(accepted, T0 + 6 * HOUR) is None


def test_the_current_deadline_puts_the_most_overdue_first() -> None:
    now = T0 + 2 * DAY
    emergency = Thread(MessageKind.REFERRAL, Urgency.EMERGENCY)
    low = Thread(MessageKind.REFERRAL, Urgency.LOW)
    normal = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    upcoming_soon = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    upcoming_late = Thread(MessageKind.REFERRAL, Urgency.LOW)
    finished = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    done = finished.original(T0)
    states = {
        "finished": state(finished, done, finished.answer(done, A.COMPLETED, T0 + 1)),
        "upcoming_late": state(upcoming_late, upcoming_late.original(now)),
        "low": state(low, low.original(T0)),  # 24 h late for delivery
        "upcoming_soon": state(upcoming_soon, upcoming_soon.original(now)),
        # Opened last of the three, yet the most overdue (46 h 45 m): its deadline is earliest.
        "emergency": state(emergency, emergency.original(T0 + HOUR)),
        "normal": state(normal, normal.original(T0)),  # 44 h late for delivery
    }
    # The dashboard's order: earliest unmet deadline first (the stores sort by it), none last.
    deadlines = {name: current_deadline(s, DEFAULT_POLICY) for name, s in states.items()}
    order = sorted(states, key=lambda name: (deadlines[name] is None, deadlines[name] or 0))
    assert order == ["emergency", "normal", "low", "upcoming_soon", "upcoming_late", "finished"]


# --- conversion to Alert -----------------------------------------------------------------


def _one(level: AlertLevel, audience: Audience) -> PlannedAlert:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    alerts = due_alerts(state(thread, thread.original(T0)), DEFAULT_POLICY, T0 + 2 * HOUR, set())
    return next(a for a in alerts if (a.level, a.audience) == (level, audience))


def test_an_agency_alert_becomes_one_alert_with_a_stable_id() -> None:
    planned = _one(L.REMINDER, AUD.RECIPIENT)
    [alert] = to_alerts(planned, ["coord-north"])
    assert alert == to_alerts(planned, [])[0]
    assert alert.alert_id == alert_id(planned.key, RECIPIENT)
    assert (alert.agency, alert.level, alert.reason) == (RECIPIENT, L.REMINDER, R.DELIVERY_OVERDUE)
    assert (alert.thread_id, alert.message_id) == (planned.thread_id, planned.message_id)
    assert (alert.sender, alert.recipient, alert.kind) == (SENDER, RECIPIENT, MessageKind.REFERRAL)
    assert (alert.deadline, alert.overdue_seconds, alert.raised_at) == (
        T0 + HOUR,
        HOUR,
        T0 + 2 * HOUR,
    )


def test_a_coordinator_alert_goes_to_every_coordinator_with_its_own_id() -> None:
    planned = _one(L.ESCALATION, AUD.COORDINATORS)
    alerts = to_alerts(planned, ["coord-south", "coord-north", "coord-south"])
    assert [a.agency for a in alerts] == ["coord-north", "coord-south"]
    assert len({a.alert_id for a in alerts}) == 2
    assert [a.alert_id for a in to_alerts(planned, ["coord-north", "coord-south"])] == [
        a.alert_id for a in alerts
    ]


def test_a_coordinator_alert_with_no_coordinator_is_refused() -> None:
    planned = _one(L.REMINDER, AUD.COORDINATORS)
    with pytest.raises(CaselinkError, match=r"is for the coordinators; none is configured$"):
        to_alerts(planned, [])


def test_alert_ids_are_uuid4_shaped_and_differ_by_key_and_addressee() -> None:
    ids = {
        alert_id("k1", "coord-north"),
        alert_id("k2", "coord-north"),
        alert_id("k1", "coord-south"),
    }
    assert len(ids) == 3
    assert all(i[14] == "4" and i[19] in "89ab" for i in ids)
    assert alert_id("k1", "coord-north") == alert_id("k1", "coord-north")


def test_the_outbox_key_alone_gives_the_alert_id_the_relay_publishes() -> None:
    planned = [_one(L.ESCALATION, AUD.COORDINATORS), _one(L.REMINDER, AUD.RECIPIENT)]
    owed = outbox_alerts(planned, ["coord-north", "coord-south"])
    assert len(owed) == 3
    assert all(alert_id_of(record.key) == body.alert_id for record, body in owed)
