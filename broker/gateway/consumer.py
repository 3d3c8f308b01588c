"""The inbox side: what this agency's queue consumer does with each batch of deliveries.

The batch consumer (broker.messaging.batch_consumer) hands deliveries over and settles them;
the inbox opens them, stores a whole batch in one transaction, and only then are they acked.
Ack / requeue is decided here and nowhere else:
- stored or already stored (redelivery, replay): ack; a referral or transfer stored for the
  first time is offered to the arrival announcer (gateway/arrivals.py) after the commit,
  which only queues its event: publishing it never holds up or undoes the ack;
- refused envelope: a `refused_envelope` alert with the reason and the envelope's message
  id, then reject without requeue: the queue's own dead-lettering takes it to the
  dead-letter queue with RabbitMQ's x-death record (this agency may not write there, so no
  agency can plant a dead letter); when the alert cannot be published, requeue;
- anything unexpected: reject with requeue, so the quorum queue's delivery limit turns a
  poison message into a dead letter instead of a blocked queue.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence

from broker.gateway.arrivals import ArrivalAnnouncer, arrival_of
from broker.gateway.incoming import Refusal, decide
from broker.gateway.metrics import GatewayCounts
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import Received
from broker.gateway.relay import OutboxRelay
from broker.logs import bound_ids, get_logger
from broker.messaging.alerts import publish_alert
from broker.messaging.batch_consumer import Triage, Verdict
from broker.messaging.errors import DeliveryError
from broker.messaging.port import Delivery, Publisher
from broker.topology.names import Topology
from schemas.alert import refused_envelope_alert
from schemas.ids import well_formed_ids

log = get_logger(__name__)

MAX_BATCH = 256
# Opening is CPU (about 0.3 ms an envelope): a whole batch at once held the event loop for
# tens of ms, and the outbox's commits and publishes waited behind it. Letting them in every
# few envelopes took p99 send-to-inbox at half load from about 50 ms to about 35 ms.
OPEN_SLICE = 8


class InboxConsumer:
    """The batch handler of `topology.agency_queue(agency)`; see the module for the rules."""

    def __init__(
        self,
        *,
        sealer: Sealer,
        topology: Topology,
        store: GatewayStore,
        publisher: Publisher,
        relay: OutboxRelay,
        arrivals: ArrivalAnnouncer | None = None,
        counts: GatewayCounts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sealer = sealer  # replaced when a newer directory comes into force
        self._topology = topology
        self._store = store
        self._publisher = publisher
        self._relay = relay
        self._arrivals = arrivals
        self._counts = GatewayCounts() if counts is None else counts
        self._clock = clock
        self._agency = sealer.keys.agency_id

    async def triage(self, batch: Sequence[Delivery]) -> Triage[Received]:
        """Open each delivery; refusals and failures get their verdict, the rest are stored."""
        now = self._clock()
        triage: Triage[Received] = Triage()
        for index, message in enumerate(batch):
            if index % OPEN_SLICE == OPEN_SLICE - 1:
                await asyncio.sleep(0)  # see OPEN_SLICE
            try:
                decision = decide(
                    message.body,
                    published_by=message.user_id,
                    sealer=self.sealer,
                    topology=self._topology,
                    now=now,
                )
            except Exception as error:  # a bug or a poison message: let the limit decide
                triage.settled.append((message, self._requeue(message, type(error).__name__)))
                continue
            if isinstance(decision, Refusal):
                triage.settled.append((message, await self._refuse(message, decision, now)))
            else:
                triage.to_commit.append((message, decision))
        return triage

    async def commit(self, work: Sequence[tuple[Delivery, Received]]) -> list[Verdict]:
        """Store the batch in one transaction; then the answers may go, and the acks."""
        verdicts: list[Verdict]
        try:
            fresh = await self._store.store_received([item for _, item in work])
            verdicts = [Verdict.ACK] * len(work)
        except Exception:
            # One bad entry must not sink the valid ones beside it: retry them one by one.
            fresh, verdicts = [], []
            for message, item in work:
                try:
                    [new] = await self._store.store_received([item])
                except Exception as error:
                    fresh.append(False)
                    verdicts.append(self._requeue(message, type(error).__name__))
                else:
                    fresh.append(new)
                    verdicts.append(Verdict.ACK)
        stored = [
            (item, new)
            for (_, item), new, verdict in zip(work, fresh, verdicts, strict=True)
            if verdict is Verdict.ACK
        ]
        # Committed: the acks may go now, and only now may the deliveries be acked.
        await self._relay.offer([item.ack for item, new in stored if new and item.ack])
        if self._arrivals is not None:
            events = (arrival_of(item.message, self._agency) for item, new in stored if new)
            self._arrivals.offer(event for event in events if event is not None)
        for item, new in stored:
            if new:
                self._counts.stored += 1
            else:
                self._counts.duplicates += 1
                log.info(
                    "duplicate ignored",
                    message_id=item.message.message_id,
                    sender=item.message.sender,
                )
        return verdicts

    def _requeue(self, message: Delivery, reason: str) -> Verdict:
        self._counts.requeued += 1
        # The AMQP message_id is whatever the publisher put there: log it only if well formed.
        with bound_ids(**well_formed_ids(message_id=message.message_id, sender=None)):
            log.error("delivery failed; requeued", reason=reason)
        return Verdict.REQUEUE

    async def _refuse(self, message: Delivery, refusal: Refusal, now: float) -> Verdict:
        # The ids of a refused envelope are untrusted: bind only those that are well formed.
        with bound_ids(**well_formed_ids(message_id=refusal.message_id, sender=refusal.sender)):
            log.warning("envelope refused", reason=refusal.reason)
        # The reason reaches the operator in this alert, keyed by the envelope's message id
        # (`caselink dlq` lists the dead letter under the same id, once its header verifies).
        try:
            alert = refused_envelope_alert(
                alert_id=str(uuid.uuid4()),
                agency=self._agency,
                recipient=self._agency,
                reason=refusal.reason,
                message_id=refusal.message_id,
                sender=refusal.sender,
                raised_at=int(now),
            )
            await publish_alert(self._publisher, alert)
        except DeliveryError as error:
            return self._requeue(message, error.reason)
        self._counts.refusal(refusal.reason)
        return Verdict.DEAD_LETTER
