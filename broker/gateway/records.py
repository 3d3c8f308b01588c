"""What the gateway keeps: outgoing envelopes (outbox), received envelopes (inbox), the
erasure log and the idempotency keys of submissions.

Plain values, no I/O. Times are float Unix seconds. Bodies are kept sealed only: an inbox
entry holds the envelope as received (encrypted to this agency's key) and is opened when a
reader asks (`gateway.stored`); once erased, `envelope` is None and `erased_at` says when.
"""

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from broker.lifecycle import Party, Stage


class InboxState(StrEnum):
    """Where a received referral or transfer stands at this agency.

    The stages of `broker.lifecycle` as the recipient sees them (`gateway.lifecycle.stage`).
    """

    NEW = "new"  # delivered: waiting for this agency's answer
    ACCEPTED = "accepted"
    PLANNED = "planned"  # accepted, and this agency's plan recorded
    DECLINED = "declined"
    REDIRECTED = "redirected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"  # by the sender
    INFORMATIONAL = "informational"  # acknowledgements and consents: nothing to answer


@dataclass(frozen=True)
class OutboxMessage:
    """A sealed envelope waiting for (or confirmed by) the broker.

    `status` is the header's category (ack or consent status); ids and categories only.
    `envelope` is None once erased (`erased_at`): an erased entry is never published.
    `author` is the signed-in user who sent it or whose answer it is; None for what the
    gateway sends by itself (the automatic `received`) or a caller outside the HTTP API.
    """

    message_id: str
    thread_id: str
    kind: str
    recipient: str
    routing_key: str
    envelope: bytes | None = field(repr=False)
    created_at: float
    in_reply_to: str | None = None
    status: str | None = None
    urgency: str | None = None
    attempts: int = 0
    next_attempt_at: float = 0.0
    sent_at: float | None = None
    erased_at: float | None = None
    author: str | None = None
    # The consent a referral or transfer cited: a withdrawal of it goes to this recipient.
    consent_ref: str | None = None


@dataclass(frozen=True)
class InboxMessage:
    """A verified message, kept sealed: `envelope` is the envelope as received.

    `reason_category` is the category of an acknowledgement's reason (declined, redirected:
    a closed vocabulary, `AckReasonCategory`), taken from its body at receipt so that the
    sender's list of what it sent can say why without opening anything; the reason's text
    stays sealed. No decrypted body is held here; `gateway.stored.open_stored` opens the
    envelope for a reader. `envelope` is None once erased (`erased_at`); ids, kind, state,
    times and the reason category remain.
    """

    message_id: str
    thread_id: str
    kind: str
    sender: str
    envelope: bytes | None = field(repr=False)
    header_json: str
    received_at: float
    in_reply_to: str | None = None
    status: str | None = None
    urgency: str | None = None
    state: InboxState = InboxState.INFORMATIONAL
    erased_at: float | None = None
    reason_category: str | None = None


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
    holder: Party | None = None  # a transfer: who holds the case now (us until accepted)
    reason_category: str | None = None  # declined or redirected: the recipient's reason category


RETENTION = "retention"
"""`Erasure.erased_by` of the gateway's own retention sweep."""


@dataclass(frozen=True)
class Erasure:
    """One entry of the erasure log: which thread lost how many bodies, when, by whom.

    `erased_by` is RETENTION, an operator (`operator:<login>`) or a migration; never content.
    """

    thread_id: str
    erased_at: float
    erased_by: str
    count: int


@dataclass(frozen=True)
class SubmissionKey:
    """An Idempotency-Key the agency's system sent with a submission, and what it stands for.

    `request_hash` is the SHA-256 of the canonical request (never the request itself);
    `message_id` and `thread_id` are allocated when the key is first seen, so a retry
    answers with the same ids and the outbox (idempotent on message_id) stores it once.
    """

    key: str
    request_hash: str
    message_id: str
    thread_id: str
    created_at: float


class ReadChannel(StrEnum):
    """Where a body was opened for a reader; adapters, pages and exports add theirs here."""

    API = "api"  # GET /v1/inbox/{message_id}
    FHIR = "fhir"  # the health adapter: a Task read by the hospital's system
    PRIMERO = "primero"  # the social-services adapter: Primero's API v2
    POLICE = "police"  # the police adapter: an answer pushed to the police system's callback
    PAGE = "page"  # the inbox pages: a person opened the message in the browser


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
    FORM = "form"  # the inbox pages' sign-in form, a person (then a session cookie)
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


@dataclass(frozen=True)
class ConsentRecord:
    """One consent in the agency's register: its scope and dates in clear, its body sealed.

    `sealed` is the Consent body sealed to this agency's own key (`envelope.seal_record`,
    kind "consent", bound to `consent_id`): it names the child and the person who gave it,
    so no column holds it open. The rest are ids, categories and dates, for the sending
    rules (`gateway.consent_rules`) and the register's listing. `giver` is the consenting
    person's relation to the child (`self`, `parent`...) or `court_order`. `recorded_by` is
    the signed-in user who recorded it; `withdrawn_at` (Unix seconds) is set exactly when
    `status` is withdrawn.
    """

    consent_id: str
    status: str
    valid_from: date
    valid_until: date
    agencies: tuple[str, ...]
    agency_kinds: tuple[str, ...]
    purposes: tuple[str, ...]
    data_categories: tuple[str, ...]
    giver: str
    recorded_at: float
    recorded_by: str
    sealed: bytes = field(repr=False)
    withdrawn_at: float | None = None
