"""The broker port's Publisher, Subscription, Settlement and QueueGauge on an InMemoryBroker."""

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from broker.messaging.errors import QueueLookRefused
from broker.messaging.port import Delivery
from broker.testing.memory_broker import InMemoryBroker, Message, Session
from broker.topology.names import ENVELOPE_CONTENT_TYPE


class InMemoryPublisher:
    """Publishes as `user`; the confirm is immediate, refusals raise as on RabbitMQ.

    `user_id` is the property set on every message: the user itself unless a test forges
    another, which the broker then refuses. `omit_user_id` leaves the property out, which
    RabbitMQ accepts (it only checks a user_id that is there).
    """

    def __init__(
        self,
        broker: InMemoryBroker,
        *,
        user: str,
        user_id: str | None = None,
        omit_user_id: bool = False,
    ) -> None:
        self._broker = broker
        self._user = user
        self._user_id = None if omit_user_id else (user if user_id is None else user_id)

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = ENVELOPE_CONTENT_TYPE,
    ) -> None:
        """Route it now; raises Unroutable or PublishRefused as the port says."""
        message = Message(
            exchange=exchange,
            routing_key=routing_key,
            body=body,
            message_id=message_id,
            user_id=self._user_id,
            content_type=content_type,
            headers=dict(headers or {}),
        )
        self._broker.publish(self._user, exchange, routing_key, message)
        await asyncio.sleep(0)  # a confirm is a round trip: let consumers run meanwhile

    async def close(self) -> None:
        """Nothing to release."""


@dataclass(frozen=True, slots=True)
class SessionSettlement:
    """The port's Settlement of one delivery: its tag in the session it came on."""

    owner: Session
    tag: int

    @property
    def session(self) -> Session:
        return self.owner

    def is_open(self) -> bool:
        return self.owner.open

    async def ack(self, *, multiple: bool = False) -> None:
        self.owner.settle(self.tag, outcome="ack", multiple=multiple)

    async def requeue(self) -> None:
        self.owner.settle(self.tag, outcome="requeue")

    async def dead_letter(self) -> None:
        self.owner.settle(self.tag, outcome="dead_letter")


class InMemorySubscription:
    """Consumes one queue of an InMemoryBroker with at most `prefetch` unsettled deliveries."""

    def __init__(self, broker: InMemoryBroker, queue: str, *, prefetch: int) -> None:
        self._broker = broker
        self._queue = queue
        self._prefetch = prefetch
        self._session: Session | None = None
        self._arrived = asyncio.Event()

    async def start(self) -> None:
        """Subscribe afresh; raises SubscribeRefused when the queue does not exist."""
        await self.stop()
        session = self._broker.open_session(self._queue, self._prefetch)
        session.on_delivery.append(self._arrived.set)
        self._session = session
        self._arrived.set()

    def alive(self) -> bool:
        return self._session is not None and self._session.open

    async def next_batch(self, max_size: int) -> list[Delivery]:
        """Wait for one delivery, then take whatever else is already waiting (up to max_size)."""
        while True:
            session = self._session
            if session is not None and session.open and session.inbox:
                batch: list[Delivery] = []
                while session.inbox and len(batch) < max_size:
                    tag, message = session.inbox.popleft()
                    batch.append(_delivery(session, tag, message))
                return batch
            self._arrived.clear()
            await self._arrived.wait()

    async def stop(self) -> None:
        """Stop consuming; unsettled deliveries go back to the queue (counted, as on RabbitMQ)."""
        session, self._session = self._session, None
        if session is not None:
            self._broker.close_session(session)


class InMemoryQueueGauge:
    """The port's QueueGauge over an InMemoryBroker."""

    def __init__(self, broker: InMemoryBroker) -> None:
        self._broker = broker

    async def depth(self, queue: str) -> int:
        """Messages ready in `queue`; raises QueueLookRefused when there is no such queue."""
        if queue not in self._broker.queues:
            raise QueueLookRefused(f"look at queue {queue} refused: no such queue", code=404)
        return self._broker.ready(queue)


def _delivery(session: Session, tag: int, message: Message) -> Delivery:
    headers = dict(message.headers)
    if session.queue.quorum:
        headers["x-delivery-count"] = message.delivered
    return Delivery(
        body=message.body,
        message_id=message.message_id,
        user_id=message.user_id,
        routing_key=message.routing_key,
        headers=headers,
        settlement=SessionSettlement(session, tag),
    )
