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
    `author` is the signed-in user who sent it or whose answer it is; None for what the
    gateway sends by itself (the automatic `received`) or a caller outside the HTTP API.
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
    author: str | None = None


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


class ReadChannel(StrEnum):
    """Where a body was opened for a reader; adapters, pages and exports add theirs here."""

    API = "api"  # GET /v1/inbox/{message_id}


@dataclass(frozen=True)
class ReadRecord:
    """One opening of a received message's body: ids, who, when, where. Never content."""

    message_id: str
    thread_id: str
    reader: str
    channel: ReadChannel
    at: float


class SignInMethod(StrEnum):
    PASSWORD = "password"  # noqa: S105 -- a method's name: HTTP Basic, a person
    TOKEN = "token"  # noqa: S105 -- a method's name: HTTP Bearer, a system


class SignInOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class SignInRecord:
    """One sign-in: never the password or token.

    `name` is the user's when the name exists, None for a name nobody holds (people type
    passwords into the name field: an unknown name is not repeated). `address` is the
    client's IP address as the server saw it.
    """

    at: float
    address: str
    method: SignInMethod
    outcome: SignInOutcome
    name: str | None
