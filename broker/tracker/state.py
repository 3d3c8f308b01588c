"""The state of one thread, folded from the set of its events (pure: no I/O).

A referral or transfer moves through the stages of `broker.lifecycle`, as an observer sees
them (`lifecycle.observe`): the tracker does not enforce, the gateways do, so an answer that
skips the recipient's own steps still moves the thread, and whatever the lifecycle does not
allow (a final stage left, a party saying what is not its to say) is ignored. A consent
withdrawal has no lifecycle stages (gateways keep it as information): it is the tracker's
own, pending until every recipient has acknowledged it, then acknowledged.

The fold deduplicates events by message id and sorts them by (issued_at, rank, message_id),
so any order of arrival and any repetition of the same events give the same state. Its
original message is the one the tracker named the thread's opener (the first opening
message it received, `broker.tracker.parties`): a sender picks its own issued_at, so the
earliest one cannot decide. Without an opener (a reader without the arrival order), the
earliest issued opening message is taken.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from broker import lifecycle
from broker.lifecycle import FhirTaskStatus, Party, Stage
from broker.tracker.errors import MixedThreads
from broker.tracker.events import TrackedEvent
from schemas.kinds import LawfulBasis, MessageKind, Urgency


class Phase(StrEnum):
    """Where a thread stands: a lifecycle stage (same value), or one of the tracker's own."""

    UNKNOWN = "unknown"  # only answers seen so far: the original message has not arrived
    SENT = Stage.SENT.value
    DELIVERED = Stage.DELIVERED.value
    ACCEPTED = Stage.ACCEPTED.value
    PLANNED = Stage.PLANNED.value  # accepted and its plan recorded: the outcome deadline met
    DECLINED = Stage.DECLINED.value
    REDIRECTED = Stage.REDIRECTED.value
    COMPLETED = Stage.COMPLETED.value
    WITHDRAWN = Stage.WITHDRAWN.value
    PENDING = "pending"  # consent withdrawal: some recipient has not acknowledged it yet
    ACKNOWLEDGED = "acknowledged"  # consent withdrawal: every recipient acknowledged it


_P = Phase

FINAL_PHASES = frozenset({Phase(stage.value) for stage in lifecycle.FINAL} | {_P.ACKNOWLEDGED})
AWAITING_RESPONSE = frozenset(Phase(stage.value) for stage in lifecycle.AWAITING_ANSWER)
"""Phases in which the recipient has not yet accepted, declined or redirected."""
REFUSED = frozenset(Phase(stage.value) for stage in lifecycle.REFUSALS)
"""Declined or redirected: the case is still the sender's to place."""

# A consent withdrawal is a request until everyone has acknowledged it, then done.
_CONSENT_FHIR: Mapping[Phase, FhirTaskStatus] = {
    _P.PENDING: FhirTaskStatus.REQUESTED,
    _P.ACKNOWLEDGED: FhirTaskStatus.COMPLETED,
}
_STAGE_VALUES = frozenset(stage.value for stage in Stage)
_PHASE: Mapping[Stage, Phase] = {stage: Phase(stage.value) for stage in Stage}


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
    every leg is delivered. `basis` is the lawful basis the original message declared
    instead of citing a consent (None: it cited one, or it shares no case data).
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
    basis: LawfulBasis | None = None

    @property
    def recipients(self) -> tuple[str, ...]:
        """Every recipient agency, sorted."""
        return tuple(leg.recipient for leg in self.legs)

    @property
    def acknowledged(self) -> frozenset[str]:
        """The recipients that have answered (for a consent withdrawal: acknowledged it)."""
        return frozenset(leg.recipient for leg in self.legs if leg.delivered_at is not None)


def stage(phase: Phase) -> Stage | None:
    """The lifecycle stage `phase` stands for; None for UNKNOWN and consent phases."""
    return Stage(phase.value) if phase.value in _STAGE_VALUES else None


def fhir_status(phase: Phase) -> FhirTaskStatus | None:
    """The HL7 FHIR Task status for `phase`; None for UNKNOWN (no original message yet)."""
    shared = stage(phase)
    return lifecycle.fhir_status(shared) if shared is not None else _CONSENT_FHIR.get(phase)


def thread_state(
    thread_id: str, events: Iterable[TrackedEvent], opener: str | None = None
) -> ThreadState:
    """Fold the events of one thread, in any order and with repeats, into its state.

    `opener` is the message id of the thread's original message as the tracker first
    received it; None takes the earliest issued one. Raises MixedThreads when an event
    belongs to another thread.
    """
    ordered = _dedupe(thread_id, events)
    openers = [event for event in ordered if event.opens_thread]
    if opener is not None:
        openers = [event for event in openers if event.message_id == opener]
    first = next(iter(openers), None)
    if first is None:
        return ThreadState(thread_id)
    originals = [event for event in ordered if _same_original(first, event)]
    recipient_of = {event.message_id: event.recipient for event in originals}
    said = [(event, _party(event, first.sender, recipient_of)) for event in ordered]
    spoken = [(event, party) for event, party in said if party is not None]
    counted = [event for event, _ in spoken]
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
        basis=first.basis,
    )
    if first.kind is MessageKind.CONSENT:
        done = base.delivered_at is not None
        return replace(
            base, phase=_P.ACKNOWLEDGED if done else _P.PENDING, closed_at=base.delivered_at
        )
    return _fold(base, spoken)


def _order(event: TrackedEvent) -> tuple[int, int, str]:
    rank = lifecycle.rank(event.status) if event.kind is MessageKind.ACKNOWLEDGEMENT else 0
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


def _party(event: TrackedEvent, sender: str, recipient_of: Mapping[str, str]) -> Party | None:
    # Who said an answer, when it is theirs to say; None for anything else (a stranger...).
    answered = recipient_of.get(event.in_reply_to or "")
    if event.kind is not MessageKind.ACKNOWLEDGEMENT or answered is None:
        return None
    entitled = lifecycle.speaker(event.status or "")
    if event.sender == answered:
        return Party.RECIPIENT if entitled is Party.RECIPIENT else None
    return Party.SENDER if event.sender == sender and entitled is Party.SENDER else None


def _legs(originals: list[TrackedEvent], counted: list[TrackedEvent]) -> tuple[Leg, ...]:
    first_to: dict[str, str] = {}
    for event in originals:
        first_to.setdefault(event.recipient, event.message_id)
    legs = []
    for recipient, message_id in sorted(first_to.items()):
        answers = [e.issued_at for e in counted if e.sender == recipient]
        legs.append(Leg(recipient, message_id, min(answers, default=None)))
    return tuple(legs)


def _fold(base: ThreadState, counted: list[tuple[TrackedEvent, Party]]) -> ThreadState:
    kind: str = base.kind or ""  # a StrEnum: finds the lifecycle's entries as it is
    current, responded_at, closed_at = Stage.SENT, None, None
    for event, party in counted:
        target = lifecycle.observe(kind, current, party, event.status or "")
        if target is current:
            continue
        current = target
        if target in lifecycle.ANSWERS and responded_at is None:
            responded_at = event.issued_at
        if target in lifecycle.FINAL:
            closed_at = event.issued_at
    # A transfer has one recipient (only a consent withdrawal has several legs).
    recipient = base.legs[0].recipient if base.legs else ""
    responsibility = lifecycle.holder(kind, current, base.sender or "", recipient)
    return replace(
        base,
        phase=_PHASE[current],
        responded_at=responded_at,
        closed_at=closed_at,
        responsibility=responsibility,
    )
