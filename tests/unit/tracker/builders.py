"""Events of one thread, built with readable defaults; times are offsets from T0 in seconds."""

import uuid
from dataclasses import dataclass, field

from broker.tracker.events import TrackedEvent
from schemas.kinds import AckStatus, ConsentStatus, MessageKind, Urgency

T0 = 1_700_000_000
MINUTE, HOUR, DAY = 60, 3600, 86400
SENDER = "social-north"
RECIPIENT = "hospital-east"
STRANGER = "police-west"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Thread:
    """One thread; `original` opens it, `answer` replies to an original."""

    kind: MessageKind = MessageKind.REFERRAL
    urgency: Urgency | None = Urgency.NORMAL
    thread_id: str = field(default_factory=new_id)

    def original(
        self,
        at: int = T0,
        *,
        recipient: str = RECIPIENT,
        sender: str = SENDER,
        respond_by: int | None = None,
    ) -> TrackedEvent:
        consent = self.kind is MessageKind.CONSENT
        return TrackedEvent(
            message_id=new_id(),
            thread_id=self.thread_id,
            kind=self.kind,
            sender=sender,
            recipient=recipient,
            issued_at=at,
            urgency=self.urgency if self.kind is MessageKind.REFERRAL else None,
            respond_by=respond_by,
            status=ConsentStatus.WITHDRAWN.value if consent else None,
        )

    def answer(
        self, to: TrackedEvent, status: AckStatus, at: int, *, by: str | None = None
    ) -> TrackedEvent:
        """An acknowledgement of `to`; by default from the party entitled to give `status`."""
        if by is None:
            by = to.sender if status is AckStatus.WITHDRAWN else to.recipient
        return TrackedEvent(
            message_id=new_id(),
            thread_id=self.thread_id,
            kind=MessageKind.ACKNOWLEDGEMENT,
            sender=by,
            recipient=to.sender if by != to.sender else to.recipient,
            issued_at=at,
            in_reply_to=to.message_id,
            status=status.value,
        )
