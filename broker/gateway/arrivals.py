"""Arrival events: tell the notifier that referrals or transfers are in this agency's inbox.

The inbox consumer `offer`s the events of what it has just committed (new entries only: a
redelivery or a replay is announced once, when first stored), after the transaction and
before the deliveries are acked; `run` publishes them in the background on the gateway's
own publisher (one connection, one confirmed channel), persistent and mandatory, as this
agency's user. The hot path only appends to a deque.

Events go in batches (`schemas.arrival.Arrivals`): each time it publishes, `run` takes
every event waiting, up to MAX_ARRIVALS, and publishes one message per kind among them on
`arrival.<kind>.<this agency>` (the routing key, and so the topic permission, of a single
event). Under light load a batch holds one event and goes at once: nothing waits for a
batch to fill. Under load the events that arrive while a batch awaits its confirm make the
next batch, so a busy inbox pays one confirmed publish per batch, not one per message.

An event is a convenience, never the record: the message is in the inbox whatever happens
here, and the tracker's deadlines still remind the duty address if no event ever arrives
(broker/tracker/escalation.py). So events are kept in memory, not in the store:
- while RabbitMQ is down, returns them (unroutable) or nacks them, they wait and are
  retried with capped backoff; a refusal (403, 404: a topology not yet applied) waits
  REFUSED_DELAY_S from the first, because it closes the connection the outbox relay
  shares. So apply the topology (`caselink topology apply`) before upgrading gateways to a
  version that publishes new events;
- at most MAX_PENDING wait; beyond that the oldest is dropped, counted and logged;
- a batch that fails goes back, whole, to the front of what waits (a batch of the other
  kind confirmed beside it stays sent);
- what still waits when the gateway stops, or is lost in a crash between the inbox commit
  and the confirm, is lost: counted and logged, never retried from the store.
A lost event delays the first email about a message until its first deadline; it never
loses or holds up the message itself.
"""

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable

from broker.gateway.metrics import GatewayCounts
from broker.gateway.records import InboxMessage
from broker.logs import RecurringFailure, get_logger
from broker.messaging.backoff import MAX_DELAY_S, OUTAGE_MAX_DELAY_S, backoff_delay
from broker.messaging.errors import BrokerUnavailable, DeliveryError, PublishRefused
from broker.messaging.port import Publisher
from broker.topology.names import ARRIVAL_CONTENT_TYPE, ARRIVALS_EXCHANGE, arrival_routing_key
from schemas.arrival import MAX_ARRIVALS, Arrival, ArrivalKind, Arrivals
from schemas.kinds import MessageKind, Urgency

log = get_logger(__name__)

# Events waiting at most (about 300 bytes each): hours of arrivals through an outage.
MAX_PENDING = 10_000
# A refusal (403, 404: the topology not yet applied) closes the publisher's connection,
# which the outbox relay shares: the first refusal already waits this long, since a backoff
# from 0.5 s would drop the relay's connection about nine times in the first minute.
REFUSED_DELAY_S = 300.0


def arrival_of(message: InboxMessage, recipient: str) -> Arrival | None:
    """The event of an inbox entry of this agency's (`recipient`), None for kinds not
    announced (acknowledgements, consents). Built from the stored ids and categories only.

    Never raises: it runs after the inbox's commit, inside `ArrivalAnnouncer.offer`. The
    urgency is a referral's only (a transfer's header has none), and one this version does
    not know (a store written by a later one) is left out, counted and logged.
    """
    kind: ArrivalKind
    if message.kind == MessageKind.REFERRAL.value:
        kind = "referral"
    elif message.kind == MessageKind.TRANSFER.value:
        kind = "transfer"
    else:
        return None
    urgency = _urgency(message) if kind == "referral" else None
    # Not validated again (this runs once per message on the inbox's hot path): every field
    # comes from the header verified at receipt (ids, kind, urgency, sender) or from this
    # gateway itself.
    return Arrival.model_construct(
        message_id=message.message_id,
        thread_id=message.thread_id,
        kind=kind,
        urgency=urgency,
        sender=message.sender,
        recipient=recipient,
        arrived_at=int(message.received_at),
    )


def _urgency(message: InboxMessage) -> Urgency | None:
    if message.urgency is None:
        return None
    try:
        return Urgency(message.urgency)
    except ValueError:
        _unknown_urgency.failed(
            "arrival event without its urgency: unknown",
            reason="unknown_urgency",
            message_id=message.message_id,
        )
        return None


# Logged at the first, then summarised: one line per message would repeat the same cause.
_unknown_urgency = RecurringFailure(log, "arrival urgencies unknown", clock=time.time)


class ArrivalAnnouncer:
    """Publishes arrival events in batches in the background; see the module for what may
    be lost."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        counts: GatewayCounts | None = None,
        max_pending: int = MAX_PENDING,
        max_batch: int = MAX_ARRIVALS,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 1 <= max_batch <= MAX_ARRIVALS:
            raise ValueError(f"max_batch must be within 1..{MAX_ARRIVALS}")
        self._publisher = publisher
        self._counts = GatewayCounts() if counts is None else counts
        self._pending: deque[Arrival] = deque()
        self._max_pending = max_pending
        self._max_batch = max_batch
        self._sleep = sleep
        self._wake = asyncio.Event()
        self._failures = 0
        self._failing = RecurringFailure(log, "arrival events", clock=time.time)
        self._dropping = RecurringFailure(log, "arrival events dropped", clock=time.time)
        self._unconfirmed = 0  # events of the batches being published, not yet confirmed

    @property
    def pending(self) -> int:
        return len(self._pending)

    def offer(self, arrivals: Iterable[Arrival]) -> None:
        """Queue events to publish; never waits and never raises."""
        self._pending.extend(arrivals)
        self._trim()
        if self._pending:
            self._wake.set()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop (what waits is then lost, and counted)."""
        try:
            while True:
                if not self._pending:
                    self._wake.clear()
                    await self._wake.wait()
                taken = [self._pending.popleft() for _ in range(min(self._max_batch, self.pending))]
                batches = by_routing_key(taken)
                self._unconfirmed = len(taken)  # `_publish` takes off each batch confirmed
                outcomes = await asyncio.gather(
                    *(self._publish(batch) for batch in batches), return_exceptions=True
                )
                self._unconfirmed = 0
                failed = [
                    (batch, outcome)
                    for batch, outcome in zip(batches, outcomes, strict=True)
                    if outcome is not None
                ]
                if failed:
                    await self._back_off(failed)
                else:
                    if self._failures:
                        self._failing.resolved()
                    self._failures = 0
                    self._dropping.resolved()
        finally:
            # Stopped mid-publish: the batches not yet confirmed may or may not have reached
            # RabbitMQ; one confirmed beside them did, and is not counted.
            lost = len(self._pending) + self._unconfirmed
            self._unconfirmed = 0
            if lost:
                self._counts.arrivals_dropped += lost
                log.warning("arrival events not sent at stop", count=lost)
                self._pending.clear()

    async def _publish(self, batch: list[Arrival]) -> None:
        first = batch[0]
        # Not validated again: every event was built by `arrival_of`, and by_routing_key
        # and max_batch keep the batch within the schema's bounds.
        body = Arrivals.model_construct(arrivals=batch).model_dump_json(exclude_none=True)
        await self._publisher.publish(
            ARRIVALS_EXCHANGE,
            arrival_routing_key(first.kind, first.recipient),
            body.encode(),
            # The batch's own id: each arrival names its message in the body.
            message_id=str(uuid.uuid4()),
            content_type=ARRIVAL_CONTENT_TYPE,
        )
        self._counts.arrivals_announced += len(batch)
        self._unconfirmed -= len(batch)

    def _trim(self) -> None:
        # The oldest beyond max_pending go, counted. Logged as one failure that lasts while
        # the buffer overflows (a line per event would flood the log just when RabbitMQ is
        # in trouble): its first line counts the events of that overflow, the summaries and
        # the line once a publish succeeds again count all since (one `failed` per event).
        over = len(self._pending) - self._max_pending
        if over <= 0:
            return
        for _ in range(over):
            self._pending.popleft()
        self._counts.arrivals_dropped += over
        for _ in range(over):
            self._dropping.failed(
                "arrival events dropped: too many wait", reason="too_many_waiting", count=over
            )

    async def _back_off(self, failed: list[tuple[list[Arrival], BaseException]]) -> None:
        # Back to the front, each kind in its order: they are the oldest waiting. Offers
        # made during the publish may have filled the buffer meanwhile: the oldest go.
        again = [arrival for batch, _ in failed for arrival in batch]
        self._pending.extendleft(reversed(again))
        self._trim()
        error = failed[0][1]
        self._failures += 1
        if isinstance(error, PublishRefused):
            delay = REFUSED_DELAY_S
        elif isinstance(error, BrokerUnavailable):
            delay = backoff_delay(self._failures, cap_s=OUTAGE_MAX_DELAY_S)
        else:  # returned unroutable, nacked, or a failure of ours: nothing to hurry for
            delay = backoff_delay(self._failures, cap_s=MAX_DELAY_S)
        reason = error.reason if isinstance(error, DeliveryError) else type(error).__name__
        self._failing.failed(
            "arrival events not published; will retry",
            reason=reason,
            message_id=again[0].message_id,
            count=len(again),
            delay_s=round(delay, 2),
        )
        await self._sleep(delay)


def by_routing_key(arrivals: list[Arrival]) -> list[list[Arrival]]:
    """`arrivals` split into one batch per routing key (per kind: the recipient is always
    this agency), each in its order."""
    batches: dict[tuple[str, str], list[Arrival]] = {}
    for arrival in arrivals:
        batches.setdefault((arrival.kind, arrival.recipient), []).append(arrival)
    return list(batches.values())
