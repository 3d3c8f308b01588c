"""What the tracker keeps of one verified clear header: ids, categories and times only."""

from dataclasses import dataclass

from schemas.header import EnvelopeHeader
from schemas.kinds import ConsentStatus, LawfulBasis, MessageKind, Urgency


@dataclass(frozen=True, slots=True)
class TrackedEvent:
    """One message of a thread, as its signed header describes it.

    `issued_at` (sender's clock, Unix seconds) is the event time: arrival order at the tracker
    says nothing, because taps redeliver and trackers restart.
    """

    message_id: str
    thread_id: str
    kind: MessageKind
    sender: str
    recipient: str
    issued_at: int
    urgency: Urgency | None = None
    respond_by: int | None = None
    in_reply_to: str | None = None
    status: str | None = None
    # The lawful basis of a referral or transfer sent without consent; None otherwise.
    basis: LawfulBasis | None = None

    @property
    def opens_thread(self) -> bool:
        """True for a message the tracker chases: referral, transfer or consent withdrawal."""
        if self.kind is MessageKind.CONSENT:
            return self.status == ConsentStatus.WITHDRAWN
        return self.kind in (MessageKind.REFERRAL, MessageKind.TRANSFER)


def event_from_header(header: EnvelopeHeader) -> TrackedEvent:
    """The tracked facts of `header`; the caller must have verified its signature first."""
    return TrackedEvent(
        message_id=header.message_id,
        thread_id=header.thread_id,
        kind=header.kind,
        sender=header.sender,
        recipient=header.recipient,
        issued_at=header.issued_at,
        urgency=header.urgency,
        respond_by=header.respond_by,
        in_reply_to=header.in_reply_to,
        status=header.status,
        basis=header.basis,
    )
