"""What became of a sent message, from the acknowledgements that answer it (pure)."""

from collections.abc import Iterable
from typing import NamedTuple

from broker import lifecycle
from broker.gateway.records import OutboxMessage, SentStatus
from broker.lifecycle import Party
from schemas.kinds import AckStatus


class Reply(NamedTuple):
    """The clear facts of one acknowledgement answering a sent message.

    From the inbox (an agency's answer, `received_at` its arrival) or this agency's own
    outbox (`sender` empty, `received_at` its creation).
    """

    message_id: str
    sender: str
    status: str | None
    received_at: float
    reason_category: str | None = None  # a refusal's reason category (`InboxMessage`)


def _order(reply: Reply) -> tuple[float, int, str]:
    # Answers stored in one batch share received_at: the further state is the later one.
    return (reply.received_at, lifecycle.rank(reply.status), reply.message_id)


def sent_status(
    message: OutboxMessage, replies: Iterable[Reply], own: Iterable[Reply] = ()
) -> SentStatus:
    """Summarise `replies` to `message` and this agency's `own` acknowledgements of it.

    delivered_at is the first `received` acknowledgement; answer/answered_at the latest
    other status. Replies from anyone but the recipient are ignored. `stage` is where the
    thread stands as the shared lifecycle observes it (`broker.lifecycle.observe`), with a
    withdrawal among `own`; None for kinds without a lifecycle (consents). `holder` is who
    holds a transferred case now (`lifecycle.holding_party`: this agency, the sender, until
    the recipient accepts); `reason_category` is the refusal's category while the thread
    stands declined or redirected.
    """
    # Only the recipient may speak for the message: a third agency cannot answer it.
    theirs = [reply for reply in replies if reply.sender == message.recipient and reply.status]
    delivered_at = min(
        (reply.received_at for reply in theirs if reply.status == AckStatus.RECEIVED),
        default=None,
    )
    latest = max(
        (reply for reply in theirs if reply.status != AckStatus.RECEIVED), key=_order, default=None
    )
    said = [(_order(reply), Party.RECIPIENT, reply.status or "") for reply in theirs]
    said += [(_order(reply), Party.SENDER, reply.status or "") for reply in own]
    stage = holder = reason_category = None
    if message.kind in lifecycle.MOVES:
        said.sort(key=lambda entry: entry[0])
        stage = lifecycle.fold(message.kind, [(party, status) for _, party, status in said])
        holder = lifecycle.holding_party(message.kind, stage)
        reason_category = _refusal_category(theirs, stage)
    return SentStatus(
        message=message,
        delivered_at=delivered_at,
        answer=latest.status if latest else None,
        answered_at=latest.received_at if latest else None,
        stage=stage,
        holder=holder,
        reason_category=reason_category,
    )


def _refusal_category(theirs: list[Reply], stage: lifecycle.Stage) -> str | None:
    # The answer that refused: there is one (a refusal is final), unless a repeat differs.
    if stage not in lifecycle.REFUSALS:
        return None
    status = lifecycle.status_of(stage)
    refusals = [reply for reply in theirs if reply.status == status]
    first = min(refusals, key=_order, default=None)
    return None if first is None else first.reason_category
