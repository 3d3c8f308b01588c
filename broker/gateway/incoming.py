"""Decide what one delivery means: a message to store (with its automatic ack) or a refusal.

Pure apart from the clock value passed in: no broker, no store. The consumer applies the
decision (store, then ack; or alert, then reject so that RabbitMQ dead-letters it).
"""

from dataclasses import dataclass

from broker import lifecycle
from broker.envelope import EnvelopeError, open_envelope
from broker.gateway.outgoing import Sealer
from broker.gateway.records import InboxMessage, InboxState, Received
from broker.messaging.publisher_check import (
    SenderMismatch,
    SenderUnauthenticated,
    authenticated_publisher,
    check_sender,
)
from broker.topology.names import Topology
from schemas.acknowledgement import Acknowledgement
from schemas.kinds import AckStatus, MessageKind

# Kinds a caseworker answers; their inbox entries start NEW and move through lifecycle.
ANSWERABLE = frozenset(lifecycle.MOVES)


@dataclass(frozen=True)
class Refusal:
    """A delivery that must not be stored: its reason slug and one-line, id-only detail."""

    reason: str
    detail: str
    message_id: str | None
    sender: str | None


def decide(
    raw: bytes,
    *,
    published_by: str | None,
    sealer: Sealer,
    topology: Topology,
    now: float,
) -> Received | Refusal:
    """Open `raw` for this agency; a valid message comes back with its `received` ack.

    The body is opened here to validate it, and then dropped: the inbox keeps `raw`, sealed.

    `published_by` is the AMQP user_id RabbitMQ validated; it must be present, checked before
    anything is opened, and be the header's sender (a replay of someone else's envelope by a
    third agency is refused, with or without a user_id).
    """
    try:
        publisher = authenticated_publisher(published_by)
        opened = open_envelope(raw, keys=sealer.keys, directory=sealer.directory, now=int(now))
        header = opened.header
        check_sender(publisher, header.sender, header.message_id, topology)
    except SenderUnauthenticated as error:
        return Refusal(error.reason, str(error), None, None)  # nothing opened: no ids known
    except EnvelopeError as error:
        return Refusal(error.reason, str(error), error.message_id, error.sender)
    except SenderMismatch as error:
        return Refusal(error.reason, str(error), header.message_id, header.sender)

    message = InboxMessage(
        message_id=header.message_id,
        thread_id=header.thread_id,
        kind=header.kind.value,
        sender=header.sender,
        envelope=bytes(raw),  # kept sealed: opened again only when someone reads it
        header_json=header.model_dump_json(exclude_none=True),
        received_at=now,
        in_reply_to=header.in_reply_to,
        status=header.status,
        urgency=header.urgency.value if header.urgency else None,
        state=InboxState.NEW if header.kind in ANSWERABLE else InboxState.INFORMATIONAL,
        reason_category=_reason_category(opened.body),
    )
    if header.kind is MessageKind.ACKNOWLEDGEMENT:
        return Received(message=message, ack=None)
    ack = sealer.outbox_entry(
        Acknowledgement(status=AckStatus.RECEIVED, answers=header.message_id),
        kind=MessageKind.ACKNOWLEDGEMENT,
        recipient=header.sender,
        thread_id=header.thread_id,
        now=now,
    )
    return Received(message=message, ack=ack)


def _reason_category(body: object) -> str | None:
    # Only the category, a closed vocabulary: the reason's text may name the child, and stays
    # sealed in the envelope (read through `Gateway.read`, recorded). Never logged.
    if isinstance(body, Acknowledgement) and body.reason is not None:
        return body.reason.category.value
    return None
