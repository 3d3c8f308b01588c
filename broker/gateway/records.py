"""What the gateway keeps: outgoing envelopes (outbox) and opened messages (inbox).

Plain values, no I/O. Times are float Unix seconds.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from broker.lifecycle import Stage


class InboxState(StrEnum):
    """Where a received referral or transfer stands at this agency.

    The stages of `broker.lifecycle` as the recipient sees them (`gateway.lifecycle.stage`).
    """

    NEW = "new"  # delivered: waiting for this agency's answer
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REDIRECTED = "redirected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"  # by the sender
    INFORMATIONAL = "informational"  # acknowledgements and consents: nothing to answer


@dataclass(frozen=True)
class OutboxMessage:
    """A sealed envelope waiting for (or confirmed by) the broker.

    `status` is the header's category (ack or consent status); ids and categories only.
    """

    message_id: str
    thread_id: str
    kind: str
    recipient: str
    routing_key: str
    envelope: bytes
    created_at: float
    in_reply_to: str | None = None
    status: str | None = None
    urgency: str | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    sent_at: float | None = None


@dataclass(frozen=True)
class InboxMessage:
    """An opened, verified message. `body_json` is the decrypted body: never log it."""

    message_id: str
    thread_id: str
    kind: str
    sender: str
    body_json: str = field(repr=False)
    header_json: str
    received_at: float
    in_reply_to: str | None = None
    status: str | None = None
    urgency: str | None = None
    state: InboxState = InboxState.INFORMATIONAL


@dataclass(frozen=True)
class Received:
    """One delivery to store: the message and the automatic `received` ack it triggers.

    `ack` is None for messages that are not answered (acknowledgements themselves).
    """

    message: InboxMessage
    ack: OutboxMessage | None


@dataclass(frozen=True)
class SentStatus:
    """What became of a message this agency sent: confirmed by the broker? answered?"""

    message: OutboxMessage
    delivered_at: float | None  # when its `received` acknowledgement arrived
    answer: str | None  # latest answer status other than received (accepted, declined...)
    answered_at: float | None
    stage: Stage | None = None  # where the thread stands, as the lifecycle observes it
