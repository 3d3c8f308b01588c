"""The inbox side: the batcher behind this agency's queue subscription.

The subscription only hands deliveries over; the batcher opens them, stores a whole batch in
one transaction, and only then acks. Ack / reject / requeue is decided here and nowhere else:
- stored or already stored (redelivery, replay): ack;
- refused envelope: forwarded to the dead-letter exchange with its reason, alerted, then ack;
- anything unexpected: reject with requeue, so the quorum queue's delivery limit turns a
  poison message into a dead letter instead of a blocked queue.
"""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from broker.amqp.publisher import ConfirmedPublisher, publish_alert
from broker.amqp.subscription import Delivery, QueueSubscription, ack, ack_all, requeue
from broker.gateway.incoming import Refusal, decide
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import Received
from broker.gateway.relay import OutboxRelay
from broker.logs import bound_ids, get_logger
from broker.messaging.errors import DeliveryError
from broker.topology.names import (
    DEAD_LETTER_EXCHANGE,
    ORIGINAL_ROUTING_KEY_HEADER,
    REFUSAL_DETAIL_HEADER,
    REFUSAL_HEADER,
    Topology,
)
from schemas.alert import refused_envelope_alert
from schemas.ids import well_formed_ids

log = get_logger(__name__)

MAX_BATCH = 256
# Opening is CPU (about 0.3 ms an envelope): a whole batch at once held the event loop for
# tens of ms, and the outbox's commits and publishes waited behind it. Letting them in every
# few envelopes took p99 send-to-inbox at half load from about 50 ms to about 35 ms.
OPEN_SLICE = 8


class InboxConsumer:
    """Consumes `topology.agency_queue(agency)`; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        amqp_url: str,
        sealer: Sealer,
        topology: Topology,
        store: GatewayStore,
        publisher: ConfirmedPublisher,
        relay: OutboxRelay,
        prefetch: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sealer = sealer
        self._topology = topology
        self._store = store
        self._publisher = publisher
        self._relay = relay
        self._clock = clock
        self._agency = sealer.keys.agency_id
        self.subscription = QueueSubscription(
            amqp_url, topology.agency_queue(self._agency), prefetch=prefetch
        )

    async def run_batches(self) -> None:
        """Process deliveries forever, a batch at a time; cancel the task to stop.

        Opening batch N+1 (CPU) overlaps with committing batch N (the database's fsync);
        commits stay in order, one at a time.
        """
        committing: asyncio.Task[None] | None = None
        try:
            while True:
                batch = await self.subscription.next_batch(MAX_BATCH)
                received = await self.open_batch(batch)
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._store_and_ack(received))
        finally:
            if committing is not None:
                committing.cancel()

    async def open_batch(self, batch: list[Delivery]) -> list[tuple[Delivery, Received]]:
        """Decide each delivery; refusals and failures are settled here, the rest returned."""
        now = self._clock()
        received: list[tuple[Delivery, Received]] = []
        for index, message in enumerate(batch):
            if index % OPEN_SLICE == OPEN_SLICE - 1:
                await asyncio.sleep(0)  # see OPEN_SLICE
            try:
                decision = decide(
                    message.body,
                    published_by=message.user_id,
                    sealer=self._sealer,
                    topology=self._topology,
                    now=now,
                )
            except Exception as error:  # a bug or a poison message: let the limit decide
                await self._requeue(message, type(error).__name__)
                continue
            if isinstance(decision, Refusal):
                await self._refuse(message, decision, now)
            else:
                received.append((message, decision))
        return received

    async def _store_and_ack(self, received: list[tuple[Delivery, Received]]) -> None:
        if not received:
            return
        stored: list[tuple[Delivery, Received, bool]] = []
        try:
            fresh = await self._store.store_received([item for _, item in received])
            stored = [(m, item, new) for (m, item), new in zip(received, fresh, strict=True)]
        except Exception:
            # One bad entry must not sink the valid ones beside it: retry them one by one.
            for message, item in received:
                try:
                    [new] = await self._store.store_received([item])
                except Exception as error:
                    await self._requeue(message, type(error).__name__)
                else:
                    stored.append((message, item, new))
        # Committed: the acks may go now, and only now may the deliveries be acked.
        await self._relay.offer([item.ack for _, item, new in stored if new and item.ack])
        for _, item, is_new in stored:
            if not is_new:
                log.info(
                    "duplicate ignored",
                    message_id=item.message.message_id,
                    sender=item.message.sender,
                )
        await ack_all([message for message, _, _ in stored])

    async def _requeue(self, message: Delivery, reason: str) -> None:
        # The AMQP message_id is whatever the publisher put there: log it only if well formed.
        with bound_ids(**well_formed_ids(message_id=message.message_id, sender=None)):
            log.error("delivery failed; requeued", reason=reason)
        await requeue(message)

    async def _refuse(self, message: Delivery, refusal: Refusal, now: float) -> None:
        # The ids of a refused envelope are untrusted: bind only those that are well formed.
        with bound_ids(**well_formed_ids(message_id=refusal.message_id, sender=refusal.sender)):
            log.warning("envelope refused", reason=refusal.reason)
        headers: dict[str, Any] = {
            REFUSAL_HEADER: refusal.reason,
            REFUSAL_DETAIL_HEADER: refusal.detail,
            ORIGINAL_ROUTING_KEY_HEADER: message.routing_key,
        }
        try:
            await self._publisher.publish(
                DEAD_LETTER_EXCHANGE,
                message.routing_key,
                message.body,
                message_id=message.message_id or str(uuid.uuid4()),
                headers=headers,
            )
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
            await self._requeue(message, error.reason)
            return
        await ack(message)
