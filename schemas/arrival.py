"""Arrival events: a gateway stored referrals or transfers in its inbox.

Published by the recipient's gateway once the messages are durably in its inbox, so that the
notifier can tell the recipient's duty address at once instead of at the first deadline.
An event repeats what the signed clear header already says (ids, kind, urgency, the two
agencies) and when it arrived: never anything from the sealed body. Events travel in
batches (`Arrivals`), one AMQP message for every arrival of one kind waiting when the
gateway publishes, so that a busy inbox pays one confirmed publish per batch, not per
message. Nothing here is signed: the notifier believes a batch only from the RabbitMQ user
of the `recipient` of every arrival in it (the broker-checked AMQP `user_id`).
"""

from typing import Annotated, Literal

from pydantic import Field

from schemas.common import Wire
from schemas.ids import AgencyId, MessageId, ThreadId
from schemas.kinds import Urgency

ArrivalKind = Literal["referral", "transfer"]
"""Only what someone must answer is announced: acknowledgements and consents are not."""

LAST_WRITABLE_SECOND = 253_402_214_399
"""9999-12-30T23:59:59Z, the last moment every time zone can write as a date: Python's dates
end with the year 9999 and zones run up to 14 hours ahead of UTC. Later, and no email could
show when the message arrived."""

ArrivalSeconds = Annotated[int, Field(ge=0, le=LAST_WRITABLE_SECOND)]
"""Unix seconds an email can write (`schemas.header.UnixSeconds` allows up to 2**40, which
signed headers, keys and directories keep)."""

MAX_ARRIVALS = 256
"""Arrivals in one batch at most (about 300 bytes each: under 80 KiB a message)."""


class Arrival(Wire):
    """One referral or transfer stored in `recipient`'s inbox at `arrived_at` (Unix seconds).

    `urgency` is the header's (a referral's; None for a transfer).
    """

    message_id: MessageId
    thread_id: ThreadId
    kind: ArrivalKind
    urgency: Urgency | None = None
    sender: AgencyId
    recipient: AgencyId
    arrived_at: ArrivalSeconds


class Arrivals(Wire):
    """The arrival events one gateway publishes at once: 1 to 256, oldest first.

    Every arrival in a batch has the same `kind` and the same `recipient` (the publishing
    gateway's agency), the ones its routing key names: `arrival.<kind>.<recipient>` on the
    arrivals exchange. A batch in which any arrival names a recipient other than the
    publishing user's agency is refused whole.
    """

    arrivals: list[Arrival] = Field(min_length=1, max_length=MAX_ARRIVALS)
