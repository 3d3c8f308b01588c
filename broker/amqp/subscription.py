"""A queue consumer that hands deliveries over in batches and can prove it is alive.

Shared by the agency gateway (its own queue) and the tracker (the tap). Deliveries are
settled by whoever processes them; this module only receives, settles and watches.

Written on aiormq (aio-pika's protocol layer), like the publisher. Draining the tap with
no work per message, a delivery cost about 145 µs of the event loop's time through
FastStream's subscriber, 100 µs through aio-pika's consumer and 60 µs here; with
FastStream's, the gateway benchmark's ratio fell from about 0.23 to 0.19
(docs/performance.md).
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import aiormq
from aiormq.abc import AbstractChannel, AbstractConnection, DeliveredMessage

from broker.amqp.connection import connect
from broker.logs import get_logger

log = get_logger(__name__)

__all__ = ["Delivery", "QueueSubscription", "ack", "ack_all", "keep_subscribed", "requeue"]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message taken from the queue and not settled yet.

    `message_id` and `user_id` are the AMQP properties: RabbitMQ vouches for `user_id` (it
    refuses a publish whose user_id is not the publishing user), nothing vouches for the
    message id.
    """

    body: bytes
    message_id: str | None
    user_id: str | None
    routing_key: str
    delivery_tag: int
    channel: AbstractChannel


def _delivery(message: DeliveredMessage) -> Delivery:
    properties = message.header.properties
    return Delivery(
        body=message.body,
        message_id=properties.message_id,
        user_id=properties.user_id,
        routing_key=message.routing_key or "",
        delivery_tag=message.delivery_tag or 0,
        channel=message.channel,
    )


class QueueSubscription:
    """Consumes one existing queue (never declared: consumers have no configure right).

    A plain connection, not a robust one: robust reconnection can bring back a connection
    without its consumer (aio-pika#563), so `keep_subscribed` checks `alive()` and
    subscribes again from scratch instead.
    """

    def __init__(self, amqp_url: str, queue: str, *, prefetch: int) -> None:
        self._url = amqp_url
        self._queue = queue
        self._prefetch = prefetch
        self._pending: asyncio.Queue[Delivery] = asyncio.Queue()
        self._connection: AbstractConnection | None = None
        self._channel: aiormq.Channel | None = None
        self._consumer_tag: str | None = None

    async def start(self) -> None:
        """(Re)connect and start consuming; raises when the broker is unreachable or refuses.

        Drops the connection this subscription held, if any: its deliveries go back to the
        queue.
        """
        await self.stop()
        connection = await connect(self._url)
        try:
            channel = await connection.channel()
            # The concrete class: only it lists its consumers, which alive() looks at.
            if not isinstance(channel, aiormq.Channel):
                raise TypeError(f"aiormq returned a {type(channel).__name__}")
            await channel.basic_qos(prefetch_count=self._prefetch)
            consumed = await channel.basic_consume(self._queue, self._hand_over, no_ack=False)
        except BaseException:
            await connection.close()
            raise
        self._connection, self._channel = connection, channel
        self._consumer_tag = consumed.consumer_tag

    async def _hand_over(self, message: DeliveredMessage) -> None:
        self._pending.put_nowait(_delivery(message))

    async def next_batch(self, max_size: int) -> list[Delivery]:
        """Wait for one delivery, then take whatever else is already waiting (up to max_size).

        Deliveries of a channel that has closed since are dropped: they can no longer be
        settled, and RabbitMQ delivers them again.
        """
        while True:
            batch = [await self._pending.get()]
            while len(batch) < max_size and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            live = [delivery for delivery in batch if not delivery.channel.is_closed]
            if live:
                return live

    def alive(self) -> bool:
        """True when this subscription holds a consumer on an open channel."""
        channel = self._channel
        return (
            channel is not None
            and not channel.is_closed
            and self._consumer_tag in channel.consumers
        )

    async def stop(self) -> None:
        """Stop consuming and close the connection; unsettled deliveries go back to the queue."""
        connection, self._connection, self._channel = self._connection, None, None
        self._consumer_tag = None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception as error:  # already going away: nothing left to release
                log.info("connection closed uncleanly", reason=type(error).__name__)


async def keep_subscribed(subscription: QueueSubscription, interval_s: float) -> None:
    """Re-subscribe whenever the consumer is gone; run as a task, cancel to stop."""
    while True:
        if not subscription.alive():
            try:
                await subscription.start()
                log.info("consumer subscribed")
            except Exception as error:
                log.warning("consumer not subscribed; will retry", reason=type(error).__name__)
        await asyncio.sleep(interval_s)


async def ack(delivery: Delivery) -> None:
    """Ack one delivery; a dead channel only means the broker will deliver it again.

    Every consumer here stores by message id, so a redelivery is harmless.
    """
    try:
        await delivery.channel.basic_ack(delivery.delivery_tag)
    except Exception as error:
        log.warning("could not ack; it will be redelivered", reason=type(error).__name__)


async def requeue(delivery: Delivery) -> None:
    """Give a delivery back to the queue.

    reject with requeue (not nack): RabbitMQ counts it towards the quorum queue's
    x-delivery-limit on every version, so a poison message ends in the dead-letter queue.
    """
    try:
        await delivery.channel.basic_reject(delivery.delivery_tag, requeue=True)
    except Exception as error:
        log.warning("could not requeue; it will be redelivered", reason=type(error).__name__)


async def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Ack every delivery of a processed batch with one basic.ack(multiple) per channel.

    Everything below the highest tag on that channel must be settled or in `deliveries`:
    true for a consumer that settles batch by batch in delivery order, as ours do. A dead
    channel means redelivery, which the stores' message-id keys make harmless.
    """
    highest: dict[int, Delivery] = {}
    for delivery in deliveries:
        if delivery.channel.is_closed:
            continue  # nothing can be acked on it; RabbitMQ redelivers what it held
        known = highest.get(id(delivery.channel))
        if known is None or delivery.delivery_tag > known.delivery_tag:
            highest[id(delivery.channel)] = delivery
    for delivery in highest.values():
        try:
            await delivery.channel.basic_ack(delivery.delivery_tag, multiple=True)
        except Exception as error:
            log.warning(
                "could not ack a batch; it will be redelivered",
                reason=type(error).__name__,
                count=len(deliveries),
            )
