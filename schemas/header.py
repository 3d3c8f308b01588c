"""The clear envelope header: what routing and tracking need, and nothing personal, ever.

Every field is an id, a category or a time. Times are integer Unix seconds so that the
canonical encoding is the same in every language.
"""

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.ids import AgencyId, KeyId, MessageId, ThreadId
from schemas.kinds import AckStatus, ConsentStatus, LawfulBasis, MessageKind, Suite, Urgency

ENVELOPE_VERSION: Final = 1

UnixSeconds = Annotated[int, Field(ge=0, lt=2**40)]
Sha256Hex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", max_length=64)]
HeaderStatus = Literal[
    "received",
    "accepted",
    "declined",
    "completed",
    "withdrawn",
    "redirected",
    "planned",
    "granted",
    "refused",
]
_ACK_STATUSES = frozenset(s.value for s in AckStatus)
_CONSENT_STATUSES = frozenset(s.value for s in ConsentStatus)
_SHARING_KINDS = frozenset({MessageKind.REFERRAL, MessageKind.TRANSFER})


class EnvelopeHeader(BaseModel):
    """Signed, unencrypted: read by RabbitMQ routing, the tracker and the audit log.

    `status` carries the acknowledgement status (kind acknowledgement) or the consent
    status (kind consent) so that the tracker can follow a thread without a decryption key;
    it is a category, not content. `basis` is the lawful basis a referral or transfer
    declares when it cites no consent (absent otherwise), so the tracker can flag every
    sharing without consent. `commitment` is SHA-256 over the salted plaintext, which
    makes the AEAD key-committing (see docs/envelope.md).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = ENVELOPE_VERSION
    suite: Suite
    message_id: MessageId
    thread_id: ThreadId
    kind: MessageKind
    sender: AgencyId
    recipient: AgencyId
    sender_kid: KeyId
    recipient_kid: KeyId
    issued_at: UnixSeconds
    expires_at: UnixSeconds
    urgency: Urgency | None = None
    respond_by: UnixSeconds | None = None
    in_reply_to: MessageId | None = None
    status: HeaderStatus | None = None
    basis: LawfulBasis | None = None
    commitment: Sha256Hex

    @model_validator(mode="after")
    def _coherent(self) -> "EnvelopeHeader":
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be after issued_at")
        if self.sender == self.recipient:
            raise ValueError("sender and recipient must differ")
        if self.kind is MessageKind.ACKNOWLEDGEMENT and (
            self.in_reply_to is None or self.status not in _ACK_STATUSES
        ):
            raise ValueError("an acknowledgement header needs in_reply_to and an ack status")
        if self.kind is MessageKind.CONSENT and self.status not in _CONSENT_STATUSES:
            raise ValueError("a consent header needs a consent status")
        if self.kind not in (MessageKind.ACKNOWLEDGEMENT, MessageKind.CONSENT) and self.status:
            raise ValueError("only acknowledgement and consent headers carry a status")
        if self.basis is not None and self.kind not in _SHARING_KINDS:
            raise ValueError("only referral and transfer headers carry a basis")
        return self
