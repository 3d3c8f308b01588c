"""The escalation ladder: which alerts a thread is due at a given time (pure).

At a deadline: a reminder to the recipient agency and to the coordinators. At twice the
deadline, measured from its start (the original's issue; for the outcome, the acceptance),
or 2N working days for one of N: an escalation to the coordinators and to the supervisors
of both agencies. The three deadlines (delivery, response, outcome: `broker.tracker.policy`)
climb the same ladder, with their own reasons. A declined or redirected transfer, and a
declined or redirected emergency referral, is an alert at once, to the coordinators and
the sender.

Every planned alert carries a stable key. The caller records it under a unique constraint
and passes the recorded keys back, so each alert is raised once, however often the sweep
runs, across restarts and across two trackers.
"""

import hashlib
import uuid
from collections.abc import Sequence, Set
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from broker.tracker.errors import NoCoordinators
from broker.tracker.events import TrackedEvent
from broker.tracker.policy import SlaPolicy, deadline_ladder
from broker.tracker.state import (
    AWAITING_RESPONSE,
    FINAL_PHASES,
    REFUSED,
    Leg,
    Phase,
    ThreadState,
)
from schemas.alert import Alert, AlertLevel, AlertReason
from schemas.kinds import MessageKind, Urgency


class Audience(StrEnum):
    RECIPIENT = "recipient"
    SENDER = "sender"
    COORDINATORS = "coordinators"
    RECIPIENT_SUPERVISORS = "recipient_supervisors"
    SENDER_SUPERVISORS = "sender_supervisors"


LADDER: dict[AlertLevel, tuple[Audience, ...]] = {
    AlertLevel.REMINDER: (Audience.RECIPIENT, Audience.COORDINATORS),
    AlertLevel.ESCALATION: (
        Audience.COORDINATORS,
        Audience.SENDER_SUPERVISORS,
        Audience.RECIPIENT_SUPERVISORS,
    ),
    AlertLevel.DECLINED: (Audience.COORDINATORS, Audience.SENDER),
}
"""Who hears of each level."""

# A redirect leaves the case with the sender as surely as a decline does.


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    """One alert the tracker owes; `agency` is None for the coordinators (the caller's list).

    `recipient` is the recipient the alert is about (one per leg of a consent withdrawal).
    """

    key: str
    level: AlertLevel
    reason: AlertReason
    audience: Audience
    agency: str | None
    thread_id: str
    kind: MessageKind
    sender: str
    recipient: str
    message_id: str
    raised_at: int
    deadline: int | None = None
    overdue_seconds: int | None = None
    detail: str | None = None  # a slug: the Alert's `detail`


def message_alert(
    event: TrackedEvent,
    level: AlertLevel,
    reason: AlertReason,
    raised_at: int,
    *,
    detail: str | None = None,
) -> PlannedAlert:
    """The coordinators' alert about the one message `event`: keyed by that message, so a
    redelivery, or a second tracker, records nothing new."""
    audience = Audience.COORDINATORS
    return PlannedAlert(
        key=f"{event.thread_id}:{event.message_id}:{reason}:{level}:{audience}",
        level=level,
        reason=reason,
        audience=audience,
        agency=None,
        thread_id=event.thread_id,
        kind=event.kind,
        sender=event.sender,
        recipient=event.recipient,
        message_id=event.message_id,
        raised_at=raised_at,
        detail=detail,
    )


class OpenDeadline(NamedTuple):
    """A deadline of one leg not met yet, and when missing it escalates (2x, from issue)."""

    reason: AlertReason
    leg: Leg
    due: int
    escalate_at: int


def open_deadlines(state: ThreadState, policy: SlaPolicy) -> list[OpenDeadline]:
    """Deadlines still to be met, each in its leg's recipient's calendar: delivery per
    undelivered leg, response until one is given, outcome while accepted with neither an
    outcome (completed) nor a plan recorded (planned): either meets it.

    A working-day deadline of a recipient with no jurisdiction is left out (none is guessed;
    the tracker refuses to start with such an agency in its directory).
    """
    if state.opened_at is None or state.phase in FINAL_PHASES:
        return []
    found: list[OpenDeadline] = []
    for leg in state.legs:
        due, twice = deadline_ladder(state, policy, leg.recipient)
        if leg.delivered_at is None and due.delivery_due is not None:
            found += _open(AlertReason.DELIVERY_OVERDUE, leg, due.delivery_due, twice.delivery_due)
        if state.phase in AWAITING_RESPONSE and due.response_due is not None:
            found += _open(AlertReason.RESPONSE_OVERDUE, leg, due.response_due, twice.response_due)
        # Only ACCEPTED owes it: a plan recorded (PLANNED) or the outcome (COMPLETED) met it.
        if state.phase is Phase.ACCEPTED and due.outcome_due is not None:
            found += _open(AlertReason.COMPLETION_OVERDUE, leg, due.outcome_due, twice.outcome_due)
    # Delivery before response before outcome, as before: callers take the earliest anyway.
    return sorted(found, key=lambda d: (_REASON_ORDER[d.reason], d.leg.recipient))


_REASON_ORDER = {
    AlertReason.DELIVERY_OVERDUE: 0,
    AlertReason.RESPONSE_OVERDUE: 1,
    AlertReason.COMPLETION_OVERDUE: 2,
}


def _open(reason: AlertReason, leg: Leg, due: int, escalate_at: int | None) -> list[OpenDeadline]:
    # Twice a duration is known whenever once is (same calendar); max() keeps the ladder
    # in order should a respond-by ever make it otherwise.
    return [OpenDeadline(reason, leg, due, max(due, escalate_at or due))]


def due_alerts(
    state: ThreadState, policy: SlaPolicy, now: int, already_raised: Set[str]
) -> list[PlannedAlert]:
    """Alerts due at `now` (Unix seconds) whose keys are not in `already_raised`.

    A sweep that comes late raises every rung it passed, reminder and escalation together.
    """
    planned: list[PlannedAlert] = []
    for reason, leg, due, escalate_at in open_deadlines(state, policy):
        for level, at in ((AlertLevel.REMINDER, due), (AlertLevel.ESCALATION, escalate_at)):
            if now >= at:
                planned += _plan(state, leg, level, reason, now, due)
    refusal = _refusal_reason(state)
    if refusal is not None:
        planned += _plan(state, state.legs[0], AlertLevel.DECLINED, refusal, now, None)
    return [alert for alert in planned if alert.key not in already_raised]


def overdue_seconds(deadline: int | None, now: int) -> int | None:
    """Seconds past `deadline` at `now`; None when there is none or it has not passed.

    For a stored thread, pass its current_deadline: it is that same earliest unmet deadline,
    folded in when the thread last changed.
    """
    return None if deadline is None or now < deadline else now - deadline


def to_alerts(planned: PlannedAlert, coordinators: Sequence[str]) -> list[Alert]:
    """The Alert bodies of `planned`, one per addressee; ids are stable across republishing.

    Raises NoCoordinators when the alert is for the coordinators and `coordinators` is empty.
    """
    if planned.agency is not None:
        addressees = [planned.agency]
    elif coordinators:
        addressees = sorted(set(coordinators))
    else:
        raise NoCoordinators(f"alert {planned.key} is for the coordinators; none is configured")
    return [
        Alert(
            alert_id=alert_id(planned.key, agency),
            level=planned.level,
            reason=planned.reason,
            agency=agency,
            thread_id=planned.thread_id,
            message_id=planned.message_id,
            kind=planned.kind,
            sender=planned.sender,
            recipient=planned.recipient,
            raised_at=planned.raised_at,
            deadline=planned.deadline,
            overdue_seconds=planned.overdue_seconds,
            detail=planned.detail,
        )
        for agency in addressees
    ]


_KEY_SEPARATOR = ">"  # in neither thread ids, agency slugs nor planned keys


def alert_key(planned_key: str, addressee: str) -> str:
    """The outbox key of one addressee's copy of a planned alert: unique per addressee."""
    return f"{planned_key}{_KEY_SEPARATOR}{addressee}"


def planned_key(key: str) -> str:
    """The planned alert's key inside an outbox key (inverse of `alert_key`)."""
    return key.rpartition(_KEY_SEPARATOR)[0]


def alert_id(key: str, agency: str) -> str:
    """The id of the alert with `key` addressed to `agency`: the same on every call."""
    return alert_id_of(alert_key(key, agency))


def alert_id_of(outbox_key: str) -> str:
    """The id of the alert stored under `outbox_key` (an `alert_key`)."""
    digest = hashlib.sha256(outbox_key.encode()).digest()
    # AlertId takes UUIDv4 shape; the version and variant bits are set over a hash instead
    # of random bits, so a republished alert keeps its id and receivers drop the repeat.
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _refusal_reason(state: ThreadState) -> AlertReason | None:
    if state.phase not in REFUSED:
        return None
    if state.kind is MessageKind.TRANSFER:
        return AlertReason.DECLINED_TRANSFER
    if state.kind is MessageKind.REFERRAL and state.urgency is Urgency.EMERGENCY:
        return AlertReason.DECLINED_EMERGENCY
    return None


def _plan(
    state: ThreadState,
    leg: Leg,
    level: AlertLevel,
    reason: AlertReason,
    now: int,
    deadline: int | None,
) -> list[PlannedAlert]:
    if state.kind is None or state.sender is None:
        return []  # unreachable: a leg implies a known original; this narrows the types
    agency_of = {
        Audience.RECIPIENT: leg.recipient,
        Audience.RECIPIENT_SUPERVISORS: leg.recipient,
        Audience.SENDER: state.sender,
        Audience.SENDER_SUPERVISORS: state.sender,
        Audience.COORDINATORS: None,
    }
    return [
        PlannedAlert(
            key=f"{state.thread_id}:{leg.recipient}:{reason}:{level}:{audience}",
            level=level,
            reason=reason,
            audience=audience,
            agency=agency_of[audience],
            thread_id=state.thread_id,
            kind=state.kind,
            sender=state.sender,
            recipient=leg.recipient,
            message_id=leg.message_id,
            raised_at=now,
            deadline=deadline,
            overdue_seconds=None if deadline is None else now - deadline,
        )
        for audience in LADDER[level]
    ]
