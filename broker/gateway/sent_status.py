"""What became of a sent message, from the acknowledgements that answer it (pure)."""

from collections.abc import Iterable
from typing import NamedTuple

from broker.gateway.lifecycle import UnknownAckStatus, ack_status_to_state, progress
from broker.gateway.records import OutboxMessage, SentStatus
from schemas.kinds import AckStatus


class Reply(NamedTuple):
    """The clear facts of one acknowledgement in the inbox that answers a sent message."""

    message_id: str
    sender: str
    status: str | None
    received_at: float


def _order(reply: Reply) -> tuple[float, int, str]:
    try:
        rank = progress(ack_status_to_state(reply.status or ""))
    except UnknownAckStatus:
        rank = -1
    # Answers stored in one batch share received_at: the further state is the later one.
    return (reply.received_at, rank, reply.message_id)


def sent_status(message: OutboxMessage, replies: Iterable[Reply]) -> SentStatus:
    """Summarise `replies` to `message`; replies from anyone but its recipient are ignored.

    delivered_at is the first `received` acknowledgement; answer/answered_at the latest
    other status.
    """
    # Only the recipient may speak for the message: a third agency cannot answer it.
    own = [reply for reply in replies if reply.sender == message.recipient and reply.status]
    delivered_at = min(
        (reply.received_at for reply in own if reply.status == AckStatus.RECEIVED), default=None
    )
    latest = max(
        (reply for reply in own if reply.status != AckStatus.RECEIVED), key=_order, default=None
    )
    return SentStatus(
        message=message,
        delivered_at=delivered_at,
        answer=latest.status if latest else None,
        answered_at=latest.received_at if latest else None,
    )
