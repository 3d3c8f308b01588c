"""What the inbox pages show, reduced from the gateway's records (pure: no I/O).

Lists hold ids, agencies, kinds, urgencies, states and times only, taken from the clear
header the gateway kept at receipt; a body is turned into labelled fields only for the one
message page, after its read is recorded (broker.inbox.routes).
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Union

from babel.dates import format_date
from pydantic import BaseModel

from broker.gateway.records import InboxMessage, InboxState, SentStatus
from broker.inbox.labels import field_label, value_label

LISTED_KINDS = frozenset({"referral", "transfer"})
"""What the received list shows: what an agency must answer. Answers to what it sent are
in the sent list; consents received are in the API."""


@dataclass(frozen=True)
class Received:
    """One row of the received list."""

    message_id: str
    thread_id: str
    kind: str
    urgency: str | None
    sender: str
    received_at: float
    respond_by: float | None
    state: str
    overdue: bool


def respond_by(header_json: str) -> float | None:
    """The deadline the sender set in the clear header (`respond_by`), if any."""
    try:
        header = json.loads(header_json)
    except ValueError:
        return None
    value = header.get("respond_by") if isinstance(header, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def received(message: InboxMessage, now: float) -> Received:
    """`message` as a row; overdue when it is new and its deadline has passed."""
    deadline = respond_by(message.header_json)
    state = message.state.value
    return Received(
        message_id=message.message_id,
        thread_id=message.thread_id,
        kind=message.kind,
        urgency=message.urgency,
        sender=message.sender,
        received_at=message.received_at,
        respond_by=deadline,
        state=state,
        overdue=message.state is InboxState.NEW and deadline is not None and deadline < now,
    )


_URGENCY_ORDER = {"emergency": 0, "high": 1, "normal": 2, "low": 3}


def received_list(messages: Iterable[InboxMessage], now: float) -> list[Received]:
    """The referrals and transfers received, new and overdue first.

    Overdue first, the longest overdue at the top; then the rest of the new ones, the most
    urgent and the nearest deadline first; then those already answered, newest first.
    """
    rows = [received(m, now) for m in messages if m.kind in LISTED_KINDS]

    def order(row: Received) -> tuple[int, float, float]:
        if row.overdue:
            return (0, row.respond_by or 0.0, -row.received_at)
        if row.state == InboxState.NEW:
            urgency = _URGENCY_ORDER.get(row.urgency or "", 4)
            return (1 + urgency, row.respond_by or float("inf"), -row.received_at)
        return (9, -row.received_at, 0.0)

    return sorted(rows, key=order)


@dataclass(frozen=True)
class Sent:
    """One row of the sent list: was it sent, delivered, answered, and how."""

    message_id: str
    thread_id: str
    kind: str
    urgency: str | None
    recipient: str
    created_at: float
    sent_at: float | None
    delivered_at: float | None
    answer: str | None
    answered_at: float | None
    reason_category: str | None

    @property
    def delivery(self) -> str:
        """`queued` (not yet confirmed by RabbitMQ), `sent` or `delivered` (the recipient's
        gateway acknowledged receipt)."""
        if self.delivered_at is not None:
            return "delivered"
        return "sent" if self.sent_at is not None else "queued"


def sent_list(statuses: Sequence[SentStatus]) -> list[Sent]:
    """What the agency sent, newest first (the store's order)."""
    return [
        Sent(
            message_id=s.message.message_id,
            thread_id=s.message.thread_id,
            kind=s.message.kind,
            urgency=s.message.urgency,
            recipient=s.message.recipient,
            created_at=s.message.created_at,
            sent_at=s.message.sent_at,
            delivered_at=s.delivered_at,
            answer=s.answer,
            answered_at=s.answered_at,
            reason_category=s.reason_category,
        )
        for s in statuses
    ]


# A body as the message page shows it: labelled fields, nested for the child, workers, lists.
Value = Union[str, "Word", "Day", "Moment", "Flag", "Count", list["Field"], list[list["Field"]]]


@dataclass(frozen=True)
class Word:
    """A value of a closed vocabulary: `label` is an English message, translated when shown."""

    label: str


@dataclass(frozen=True)
class Day:
    """A date, shown in the reader's form."""

    value: date


@dataclass(frozen=True)
class Moment:
    """A time (Unix seconds), shown in the reader's zone and form."""

    value: float


@dataclass(frozen=True)
class Flag:
    """Yes or no."""

    value: bool


@dataclass(frozen=True)
class Count:
    """A number (an age, an attachment's size in bytes), shown with the reader's grouping."""

    value: int


@dataclass(frozen=True)
class Field:
    """One field: `label` an English message (translated when shown), `name` the wire name
    (kept for stable ids), `value` text as written, a word, a date, or nested fields."""

    name: str
    label: str
    value: Value


def body_fields(body: BaseModel) -> list[Field]:
    """The fields of a body that are set, in the model's order, labelled."""
    fields: list[Field] = []
    for name in type(body).model_fields:
        raw = getattr(body, name)
        # Times on the wire are Unix seconds: `withdrawn_at`.
        timed = name.endswith("_at") and isinstance(raw, int) and not isinstance(raw, bool)
        value = Moment(float(raw)) if timed else _shown(raw)
        if value is not None:
            fields.append(Field(name, field_label(name), value))
    return fields


def _shown(value: object) -> Value | None:
    """A field's value as shown; None for what is not set (an empty list included)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return body_fields(value) or None
    if isinstance(value, bool):
        return Flag(value)
    if isinstance(value, Enum):
        return Word(value_label(str(value.value)))
    if isinstance(value, bytes):
        return Count(len(value))  # an attachment's data: its size, never its bytes
    if isinstance(value, int):
        return Count(value)
    if isinstance(value, date):
        return Day(value)
    if isinstance(value, list):
        if not value:
            return None
        if all(isinstance(item, BaseModel) for item in value):
            return [body_fields(item) for item in value] or None
        return [Field("", "", shown) for item in value if (shown := _shown(item)) is not None]
    return str(value)


def shape(value: Value) -> str:
    """How a template shows `value`: text, word, day, moment, flag, count, fields (one
    nested record), records (a list of them) or list (plain values)."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        first = value[0] if value else None
        if isinstance(first, list):
            return "records"
        return "list" if isinstance(first, Field) and first.name == "" else "fields"
    return type(value).__name__.lower()


def day_text(value: date, language: str) -> str:
    """A date as a reader of `language` writes it (medium form: 3 Dec 2026)."""
    return format_date(value, "medium", locale=language)


class FormValues(dict[str, str]):
    """A form's values sent back into it: a field not sent reads as empty."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Answered:
    """An answer form refused for its fields, shown again: which form (`action`), what was
    typed in it, and the fields at fault. NOT_ANSWERED: none."""

    action: str
    values: FormValues
    bad: frozenset[str]

    @classmethod
    def of(cls, action: str, fields: Mapping[str, Sequence[str]], bad: Iterable[str]) -> "Answered":
        values = FormValues((name, given[0]) for name, given in fields.items() if len(given) == 1)
        return cls(action, values, frozenset(bad))

    def value(self, action: str, name: str) -> str:
        """What was typed in `name` of the `action` form; "" for any other form."""
        return self.values[name] if action == self.action else ""

    def faulty(self, action: str, name: str) -> bool:
        """Whether `name` of the `action` form was found at fault."""
        return action == self.action and name in self.bad


NOT_ANSWERED = Answered("", FormValues(), frozenset())
