"""Factories for gateway records: fresh random ids, synthetic values, overrides by keyword."""

import uuid
from typing import Any

from broker.gateway.records import InboxMessage, InboxState, OutboxMessage, Received

US = "city-social"
THEM = "st-marys-hospital"


def new_id() -> str:
    return str(uuid.uuid4())


def outgoing(**overrides: Any) -> OutboxMessage:
    """A sealed referral from us to THEM (the envelope bytes are opaque here)."""
    values: dict[str, Any] = {
        "message_id": new_id(),
        "thread_id": new_id(),
        "kind": "referral",
        "recipient": THEM,
        "routing_key": f"referral.{US}.{THEM}",
        "envelope": b"\x00sealed\xff" + uuid.uuid4().bytes,
        "created_at": 1000.0,
        "urgency": "high",
    }
    return OutboxMessage(**(values | overrides))


def incoming(**overrides: Any) -> InboxMessage:
    """A verified referral from THEM, NEW (answerable); the envelope bytes are opaque here."""
    values: dict[str, Any] = {
        "message_id": new_id(),
        "thread_id": new_id(),
        "kind": "referral",
        "sender": THEM,
        "envelope": b"\x01sealed for us\xff" + uuid.uuid4().bytes,
        "header_json": '{"kind": "referral"}',
        "received_at": 2000.0,
        "urgency": "normal",
        "state": InboxState.NEW,
    }
    return InboxMessage(**(values | overrides))


def their_ack(
    answered: OutboxMessage | InboxMessage, status: str, **overrides: Any
) -> InboxMessage:
    """An acknowledgement in our inbox answering `answered`, from its other party by default."""
    sender = answered.recipient if isinstance(answered, OutboxMessage) else answered.sender
    values: dict[str, Any] = {
        "kind": "acknowledgement",
        "thread_id": answered.thread_id,
        "sender": sender,
        "in_reply_to": answered.message_id,
        "status": status,
        "urgency": None,
        "state": InboxState.INFORMATIONAL,
    }
    return incoming(**(values | overrides))


def answer(message: InboxMessage, status: str | None, **overrides: Any) -> OutboxMessage:
    """Our acknowledgement of a received message, as `respond` and `store_received` take it."""
    values: dict[str, Any] = {
        "kind": "acknowledgement",
        "thread_id": message.thread_id,
        "recipient": message.sender,
        "routing_key": f"acknowledgement.{US}.{message.sender}",
        "in_reply_to": message.message_id,
        "status": status,
        "urgency": None,
    }
    return outgoing(**(values | overrides))


def ack_of(item: Received) -> OutboxMessage:
    """The `received` ack that came with a delivery (which must have one)."""
    assert item.ack is not None
    return item.ack


def delivery(message: InboxMessage | None = None) -> Received:
    """A delivery as the consumer hands it over: the message with our `received` ack, if any."""
    message = message or incoming()
    if message.kind == "acknowledgement":
        return Received(message=message, ack=None)
    return Received(message=message, ack=answer(message, "received"))
