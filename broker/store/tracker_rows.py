"""Between the tracker's values and its table rows, and the dashboard filter as SQL."""

import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, and_, select

from broker.store.tracker_tables import thread_agencies, threads
from broker.tracker.events import TrackedEvent
from broker.tracker.parties import ThreadClaim
from broker.tracker.records import (
    FoldedThread,
    RecordedAlert,
    RefusalEntry,
    ThreadFilter,
    ThreadRow,
    TimelineEntry,
)
from broker.tracker.state import Leg, Phase, ThreadState
from schemas.alert import Alert
from schemas.kinds import LawfulBasis, MessageKind, Urgency

SENDER, RECIPIENT = "sender", "recipient"
"""thread_agencies.role values."""


def event_row(event: TrackedEvent, received_at: float) -> dict[str, Any]:
    """The events row of `event`."""
    return {
        "message_id": event.message_id,
        "thread_id": event.thread_id,
        "kind": event.kind.value,
        "sender": event.sender,
        "recipient": event.recipient,
        "status": event.status,
        "in_reply_to": event.in_reply_to,
        "urgency": None if event.urgency is None else event.urgency.value,
        "respond_by": event.respond_by,
        "issued_at": event.issued_at,
        "received_at": received_at,
        "basis": None if event.basis is None else event.basis.value,
    }


def refusal_row(event: TrackedEvent, reason: str, received_at: float) -> dict[str, Any]:
    """The refused_events row of `event`."""
    return {
        "message_id": event.message_id,
        "thread_id": event.thread_id,
        "kind": event.kind.value,
        "sender": event.sender,
        "recipient": event.recipient,
        "status": event.status,
        "issued_at": event.issued_at,
        "received_at": received_at,
        "reason": reason,
    }


def refusal_entry(row: RowMapping) -> RefusalEntry:
    """The RefusalEntry a refused_events row holds."""
    return RefusalEntry(**{name: row[name] for name in _REFUSAL_FIELDS})


_REFUSAL_FIELDS = tuple(field.name for field in dataclasses.fields(RefusalEntry))


def tracked_event(row: RowMapping) -> TrackedEvent:
    """The TrackedEvent an events row holds."""
    urgency = row["urgency"]
    return TrackedEvent(
        message_id=row["message_id"],
        thread_id=row["thread_id"],
        kind=MessageKind(row["kind"]),
        sender=row["sender"],
        recipient=row["recipient"],
        issued_at=row["issued_at"],
        urgency=None if urgency is None else Urgency(urgency),
        respond_by=row["respond_by"],
        in_reply_to=row["in_reply_to"],
        status=row["status"],
        basis=None if row["basis"] is None else LawfulBasis(row["basis"]),
    )


def timeline_entry(row: RowMapping) -> TimelineEntry:
    """The timeline entry of an events row."""
    return TimelineEntry(
        message_id=row["message_id"],
        kind=row["kind"],
        sender=row["sender"],
        recipient=row["recipient"],
        status=row["status"],
        issued_at=row["issued_at"],
        received_at=row["received_at"],
    )


def folded_values(folded: FoldedThread) -> dict[str, Any]:
    """The threads columns of `folded` but thread_id and revision: state, deadlines, claim."""
    row, claim = folded.row, folded.claim
    state = row.state
    legs = [[leg.recipient, leg.message_id, leg.delivered_at] for leg in state.legs]
    return {
        "phase": state.phase.value,
        "kind": None if state.kind is None else state.kind.value,
        "sender": state.sender,
        "urgency": None if state.urgency is None else state.urgency.value,
        "opened_at": state.opened_at,
        "respond_by": state.respond_by,
        "delivered_at": state.delivered_at,
        "responded_at": state.responded_at,
        "closed_at": state.closed_at,
        "responsibility": state.responsibility,
        "basis": None if state.basis is None else state.basis.value,
        "legs": json.dumps(legs, separators=(",", ":")),
        "current_deadline": row.current_deadline,
        "next_check_at": row.next_check_at,
        "updated_at": row.updated_at,
        "opener_id": claim.opener,
        "parties": json.dumps(sorted(claim.parties), separators=(",", ":")),
    }


def thread_claim(opener_id: str | None, parties: str) -> ThreadClaim:
    """The ThreadClaim kept in a threads row's opener_id and parties."""
    return ThreadClaim(opener_id, frozenset(json.loads(parties)))


def thread_record(row: RowMapping) -> ThreadRow:
    """The ThreadRow a threads row holds."""
    kind, urgency = row["kind"], row["urgency"]
    state = ThreadState(
        thread_id=row["thread_id"],
        phase=Phase(row["phase"]),
        kind=None if kind is None else MessageKind(kind),
        sender=row["sender"],
        legs=tuple(Leg(*leg) for leg in json.loads(row["legs"])),
        urgency=None if urgency is None else Urgency(urgency),
        opened_at=row["opened_at"],
        respond_by=row["respond_by"],
        delivered_at=row["delivered_at"],
        responded_at=row["responded_at"],
        closed_at=row["closed_at"],
        responsibility=row["responsibility"],
        basis=None if row["basis"] is None else LawfulBasis(row["basis"]),
    )
    return ThreadRow(state, row["current_deadline"], row["next_check_at"], row["updated_at"])


def agency_rows(folded: FoldedThread) -> list[dict[str, Any]]:
    """The thread_agencies rows of a thread: its sender and every recipient."""
    state, due = folded.row.state, folded.recipient_deadlines
    rows = [
        {"role": RECIPIENT, "agency": agency, "current_deadline": due.get(agency)}
        for agency in state.recipients
    ]
    if state.sender is not None:
        rows.append({"role": SENDER, "agency": state.sender, "current_deadline": None})
    return [{"thread_id": state.thread_id} | row for row in rows]


def alert_row(record: RecordedAlert, body: Alert) -> dict[str, Any]:
    """The alerts row of one addressee's alert."""
    return {
        "key": record.key,
        "thread_id": body.thread_id,
        "level": body.level.value,
        "reason": body.reason.value,
        "agency": body.agency,
        "alert_json": record.alert_json,
        "routing_key": record.routing_key,
        "raised_at": record.raised_at,
        "published_at": record.published_at,
    }


def recorded_alert(row: RowMapping) -> RecordedAlert:
    """The RecordedAlert an alerts row holds."""
    return RecordedAlert(
        key=row["key"],
        alert_json=row["alert_json"],
        routing_key=row["routing_key"],
        raised_at=row["raised_at"],
        published_at=row["published_at"],
    )


def filtered(query: Select[Any], flt: ThreadFilter) -> Select[Any]:
    """`query` over threads, restricted by every filter of `flt` that is set."""
    for agency in (flt.involving, flt.agency):
        if agency is not None:
            party = select(thread_agencies.c.thread_id).where(thread_agencies.c.agency == agency)
            query = query.where(threads.c.thread_id.in_(party))
    conditions: list[ColumnElement[bool]] = [
        column == value
        for column, value in (
            (threads.c.kind, flt.kind),
            (threads.c.urgency, flt.urgency),
            (threads.c.phase, flt.phase),
        )
        if value is not None
    ]
    return query.where(and_(*conditions)) if conditions else query


def words(values: Iterable[str]) -> list[str]:
    """`values` sorted, for IN lists that render the same on every call."""
    return sorted(values)
