"""The state of one thread, folded from the set of its events (pure: no I/O).

Referral: sent -> delivered -> accepted | declined | redirected; accepted -> completed; the
sender may withdraw before completion. Transfer: sent -> delivered -> accepted (responsibility
moves to the recipient) | declined | redirected (it stays with the sender); the sender may
withdraw until the recipient answers. Consent withdrawal: pending until every recipient has
acknowledged it, then acknowledged.

The fold deduplicates events by message id and sorts them by (issued_at, rank, message_id),
so any order of arrival and any repetition of the same events give the same state.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from broker.tracker.errors import MixedThreads
from broker.tracker.events import TrackedEvent
from schemas.kinds import AckStatus, MessageKind, Urgency


class Phase(StrEnum):
    UNKNOWN = "unknown"  # only answers seen so far: the original message has not arrived
    SENT = "sent"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REDIRECTED = "redirected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    PENDING = "pending"  # consent withdrawal: some recipient has not acknowledged it yet
    ACKNOWLEDGED = "acknowledged"  # consent withdrawal: every recipient acknowledged it


class FhirTaskStatus(StrEnum):
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_P = Phase
_A = AckStatus

FINAL_PHASES = frozenset({_P.DECLINED, _P.REDIRECTED, _P.COMPLETED, _P.WITHDRAWN, _P.ACKNOWLEDGED})
AWAITING_RESPONSE = frozenset({_P.SENT, _P.DELIVERED})
"""Phases in which the recipient has not yet accepted, declined or redirected."""

_FHIR: Mapping[Phase, FhirTaskStatus] = {
    _P.SENT: FhirTaskStatus.REQUESTED,
    _P.DELIVERED: FhirTaskStatus.RECEIVED,
    _P.ACCEPTED: FhirTaskStatus.ACCEPTED,
    _P.DECLINED: FhirTaskStatus.REJECTED,
    _P.REDIRECTED: FhirTaskStatus.REJECTED,
    _P.COMPLETED: FhirTaskStatus.COMPLETED,
    _P.WITHDRAWN: FhirTaskStatus.CANCELLED,
    _P.PENDING: FhirTaskStatus.REQUESTED,
    _P.ACKNOWLEDGED: FhirTaskStatus.COMPLETED,
}

# What each party may say; anything else (a recipient "withdrawing", a stranger) is ignored.
_RECIPIENT_STATUSES = frozenset(
    {_A.RECEIVED, _A.ACCEPTED, _A.DECLINED, _A.REDIRECTED, _A.COMPLETED}
)
_SENDER_STATUSES = frozenset({_A.WITHDRAWN})

# Breaks ties between events issued in the same second: the further step comes later.
_RANK: Mapping[str, int] = {
    _A.RECEIVED: 1,
    _A.ACCEPTED: 2,
    _A.DECLINED: 2,
    _A.REDIRECTED: 2,
    _A.COMPLETED: 3,
    _A.WITHDRAWN: 4,
}

# The tracker observes, it does not enforce (the gateways do): an answer that skips a step,
# like `completed` with no `accepted` seen, still moves the thread rather than raise a false
# alarm. An answer from a final phase, or one not allowed from the current phase, is ignored.
_ANSWERS: Mapping[str, Phase] = {
    _A.ACCEPTED: _P.ACCEPTED,
    _A.DECLINED: _P.DECLINED,
    _A.REDIRECTED: _P.REDIRECTED,
    _A.COMPLETED: _P.COMPLETED,
    _A.WITHDRAWN: _P.WITHDRAWN,
}
_MOVES: Mapping[MessageKind, Mapping[Phase, Mapping[str, Phase]]] = {
    MessageKind.REFERRAL: {
        _P.SENT: {_A.RECEIVED: _P.DELIVERED, **_ANSWERS},
        _P.DELIVERED: _ANSWERS,
        _P.ACCEPTED: {_A.COMPLETED: _P.COMPLETED, _A.WITHDRAWN: _P.WITHDRAWN},
    },
    MessageKind.TRANSFER: {
        _P.SENT: {_A.RECEIVED: _P.DELIVERED, **_ANSWERS},
        _P.DELIVERED: _ANSWERS,
        # Once accepted the case is the recipient's: the sender cannot take it back alone.
        _P.ACCEPTED: {_A.COMPLETED: _P.COMPLETED},
    },
}
_RESPONSES = frozenset({_P.ACCEPTED, _P.DECLINED, _P.REDIRECTED, _P.COMPLETED})


@dataclass(frozen=True, slots=True)
class Leg:
    """One recipient of the thread's original message (a consent withdrawal has several)."""

    recipient: str
    message_id: str
    delivered_at: int | None = None  # the recipient's first answer: any answer proves delivery


@dataclass(frozen=True, slots=True)
class ThreadState:
    """Where one thread stands; times are Unix seconds from the headers' issued_at.

    `kind` is None (and `phase` UNKNOWN) while only answers are known. `responsibility` is the
    agency holding a transferred case (None for other kinds). `delivered_at` is set once
    every leg is delivered.
    """

    thread_id: str
    phase: Phase = Phase.UNKNOWN
    kind: MessageKind | None = None
    sender: str | None = None
    legs: tuple[Leg, ...] = ()
    urgency: Urgency | None = None
    opened_at: int | None = None
    respond_by: int | None = None
    delivered_at: int | None = None
    responded_at: int | None = None
    closed_at: int | None = None
    responsibility: str | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every recipient agency, sorted."""
        return tuple(leg.recipient for leg in self.legs)

    @property
    def acknowledged(self) -> frozenset[str]:
        """The recipients that have answered (for a consent withdrawal: acknowledged it)."""
        return frozenset(leg.recipient for leg in self.legs if leg.delivered_at is not None)


def fhir_status(phase: Phase) -> FhirTaskStatus | None:
    """The HL7 FHIR Task status for `phase`; None for UNKNOWN (no original message yet)."""
    return _FHIR.get(phase)


def thread_state(thread_id: str, events: Iterable[TrackedEvent]) -> ThreadState:
    """Fold the events of one thread, in any order and with repeats, into its state.

    Raises MixedThreads when an event belongs to another thread.
    """
    ordered = _dedupe(thread_id, events)
    first = next((event for event in ordered if event.opens_thread), None)
    if first is None:
        return ThreadState(thread_id)
    originals = [event for event in ordered if _same_original(first, event)]
    recipient_of = {event.message_id: event.recipient for event in originals}
    counted = [event for event in ordered if _counts(event, first.sender, recipient_of)]
    legs = _legs(originals, counted)
    delivered = [leg.delivered_at for leg in legs]
    base = ThreadState(
        thread_id=thread_id,
        phase=Phase.SENT,
        kind=first.kind,
        sender=first.sender,
        legs=legs,
        urgency=first.urgency,
        opened_at=first.issued_at,
        respond_by=first.respond_by,
        delivered_at=None if None in delivered else max(d for d in delivered if d is not None),
    )
    if first.kind is MessageKind.CONSENT:
        done = base.delivered_at is not None
        return replace(
            base, phase=_P.ACKNOWLEDGED if done else _P.PENDING, closed_at=base.delivered_at
        )
    return _fold(base, counted)


def _order(event: TrackedEvent) -> tuple[int, int, str]:
    rank = _RANK.get(event.status or "", 0) if event.kind is MessageKind.ACKNOWLEDGEMENT else 0
    return (event.issued_at, rank, event.message_id)


def _dedupe(thread_id: str, events: Iterable[TrackedEvent]) -> list[TrackedEvent]:
    by_id: dict[str, TrackedEvent] = {}
    for event in events:
        if event.thread_id != thread_id:
            raise MixedThreads(f"event {event.message_id} is not of thread {thread_id}")
        seen = by_id.get(event.message_id)
        # A message id names one signed envelope, so repeats are equal; should two differ
        # anyway, keeping the smaller one keeps the result independent of arrival order.
        if seen is None or (_order(event), repr(event)) < (_order(seen), repr(seen)):
            by_id[event.message_id] = event
    return sorted(by_id.values(), key=_order)


def _same_original(first: TrackedEvent, event: TrackedEvent) -> bool:
    # Resends by the original sender count; a consent withdrawal goes to many recipients.
    return (
        event.opens_thread
        and event.kind is first.kind
        and event.sender == first.sender
        and (first.kind is MessageKind.CONSENT or event.recipient == first.recipient)
    )


def _counts(event: TrackedEvent, sender: str, recipient_of: Mapping[str, str]) -> bool:
    answered = recipient_of.get(event.in_reply_to or "")
    if event.kind is not MessageKind.ACKNOWLEDGEMENT or answered is None:
        return False
    if event.sender == answered:
        return event.status in _RECIPIENT_STATUSES
    return event.sender == sender and event.status in _SENDER_STATUSES


def _legs(originals: list[TrackedEvent], counted: list[TrackedEvent]) -> tuple[Leg, ...]:
    first_to: dict[str, str] = {}
    for event in originals:
        first_to.setdefault(event.recipient, event.message_id)
    legs = []
    for recipient, message_id in sorted(first_to.items()):
        answers = [e.issued_at for e in counted if e.sender == recipient]
        legs.append(Leg(recipient, message_id, min(answers, default=None)))
    return tuple(legs)


def _fold(base: ThreadState, counted: list[TrackedEvent]) -> ThreadState:
    moves = _MOVES[base.kind] if base.kind is not None else {}
    phase, responded_at, closed_at = _P.SENT, None, None
    for event in counted:
        target = moves.get(phase, {}).get(event.status or "")
        if target is None:
            continue
        phase = target
        if target in _RESPONSES and responded_at is None:
            responded_at = event.issued_at
        if target in FINAL_PHASES:
            closed_at = event.issued_at
    responsibility = None
    if base.kind is MessageKind.TRANSFER:
        taken = phase in (_P.ACCEPTED, _P.COMPLETED)
        responsibility = base.legs[0].recipient if taken else base.sender
    return replace(
        base,
        phase=phase,
        responded_at=responded_at,
        closed_at=closed_at,
        responsibility=responsibility,
    )
