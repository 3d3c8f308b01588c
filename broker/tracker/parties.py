"""Who may speak in a thread: its parties, fixed in the order the tracker received them (pure).

A thread id is chosen by the agency that opens the thread and travels in every clear header,
so any member agency that learns one can send a validly signed message carrying it, and the
fold orders events by the senders' own `issued_at`, which a sender can back-date. Were every
message of a thread id folded, a third agency could become its opener: hide its deadlines
from the real parties and list it as its own on the dashboard. So the tracker fixes a
thread's parties by arrival, which no sender controls:

- the first message the tracker receives of a thread makes its sender and its recipient
  the thread's parties;
- a message from a party is admitted, and its recipient becomes a party too: the other
  recipients of a consent withdrawal, or an agency a party refers the case on to (a
  redirect names its target only in the sealed body, so the tracker learns of the target
  when a party addresses it in the thread, the only way it learns the thread id);
- a message from any other agency is refused for that thread: not folded, kept as a
  refusal record (ids and categories) and announced to the coordinators, naming its sender
  (the header's signed sender, which the tap has checked is also the publishing user);
- the thread's opener is the first opening message received (a referral, transfer or
  consent withdrawal); a later one, however back-dated, does not re-open the thread
  (`state.thread_state(opener=...)`).

A message id that was refused once stays refused (the ledger skips known ids), so a sender
brought in later cannot have its earlier intrusion folded by resending it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from broker.tracker.escalation import PlannedAlert, message_alert
from broker.tracker.events import TrackedEvent
from schemas.alert import AlertLevel, AlertReason

NOT_A_PARTY = AlertReason.NOT_A_PARTY.value
"""The refusal reason kept with a message refused for its thread."""


@dataclass(frozen=True, slots=True)
class ThreadClaim:
    """The parties of one thread and its opener's message id; empty before its first event."""

    opener: str | None = None
    parties: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Admission:
    """What `admit` made of a batch: events to fold, events refused, and the claims changed."""

    admitted: list[TrackedEvent] = field(default_factory=list)
    refused: list[TrackedEvent] = field(default_factory=list)
    claims: dict[str, ThreadClaim] = field(default_factory=dict)


def admitted(claim: ThreadClaim, event: TrackedEvent) -> ThreadClaim | None:
    """The thread's claim once `event` is admitted; None when `event` is refused."""
    if claim.parties and event.sender not in claim.parties:
        return None
    opener = claim.opener
    if opener is None and event.opens_thread:
        opener = event.message_id
    return ThreadClaim(opener, claim.parties | {event.sender, event.recipient})


def admit(claims: Mapping[str, ThreadClaim], events: Sequence[TrackedEvent]) -> Admission:
    """Admit or refuse `events` in their order of arrival, over the stored `claims`.

    `events` are new to the tracker (distinct message ids); a thread missing from `claims`
    has none yet. Only the claims that changed are returned.
    """
    admission = Admission()
    current = dict(claims)
    for event in events:
        before = current.get(event.thread_id, ThreadClaim())
        after = admitted(before, event)
        if after is None:
            admission.refused.append(event)
            continue
        admission.admitted.append(event)
        if after != before:
            current[event.thread_id] = admission.claims[event.thread_id] = after
    return admission


def refusal_alert(event: TrackedEvent, raised_at: int) -> PlannedAlert:
    """The coordinators' alert that `event`'s sender wrote into a thread not its own."""
    return message_alert(event, AlertLevel.REFUSED, AlertReason.NOT_A_PARTY, raised_at)
