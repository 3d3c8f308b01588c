"""The arrival event: a gateway stored a referral or transfer in its inbox.

Published by the recipient's gateway once the message is durably in its inbox, so that the
notifier can tell the recipient's duty address at once instead of at the first deadline.
It repeats what the signed clear header already says (ids, kind, urgency, the two
agencies) and when it arrived: never anything from the sealed body. Nothing here is
signed: the notifier believes an event only from the RabbitMQ user of its `recipient`
(the broker-checked AMQP `user_id`).
"""

from typing import Literal

from schemas.common import Wire
from schemas.header import UnixSeconds
from schemas.ids import AgencyId, MessageId, ThreadId
from schemas.kinds import Urgency

ArrivalKind = Literal["referral", "transfer"]
"""Only what someone must answer is announced: acknowledgements and consents are not."""


class Arrival(Wire):
    """One referral or transfer stored in `recipient`'s inbox at `arrived_at` (Unix seconds).

    `urgency` is the header's (a referral's; None for a transfer). Published on the arrivals
    exchange as `arrival.<kind>.<recipient>`, AMQP `message_id` = `message_id`.
    """

    message_id: MessageId
    thread_id: ThreadId
    kind: ArrivalKind
    urgency: Urgency | None = None
    sender: AgencyId
    recipient: AgencyId
    arrived_at: UnixSeconds
