"""A FastStream subscription that hands deliveries over in batches and can prove it is alive.

Shared by the agency gateway (its own queue) and the tracker (the tap). Deliveries are
acked manually by whoever processes them; this module only receives and watches.
"""

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from aiormq.exceptions import ChannelInvalidStateError
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.message import RabbitMessage as Delivery

from broker.logs import get_logger

log = get_logger(__name__)

__all__ = ["Delivery", "QueueSubscription", "ack_all", "keep_subscribed", "settle"]


class QueueSubscription:
    """Consumes one existing queue (never declared: consumers have no configure right)."""

    def __init__(self, amqp_url: str, queue: str, *, prefetch: int) -> None:
        self._pending: asyncio.Queue[Delivery] = asyncio.Queue()
        # FastStream logs every message at INFO by default: too costly on this path.
        self.broker = RabbitBroker(
            amqp_url,
            default_channel=Channel(prefetch_count=prefetch, on_return_raises=True),
            log_level=logging.DEBUG,
            graceful_timeout=5.0,
            # No dependency injection: it resolves each handler argument in a worker thread,
            # several thread hops per message for nothing we need.
            apply_types=False,
        )
        self._subscriber = self.broker.subscriber(
            RabbitQueue(queue, declare=False),
            ack_policy=AckPolicy.MANUAL,
            no_reply=True,
            decoder=_undecoded,
        )
        self._subscriber(self._hand_over)

    async def _hand_over(self, _body: bytes) -> None:
        delivery: Delivery = self.broker.context.get_local("message")
        await self._pending.put(delivery)

    async def next_batch(self, max_size: int) -> list[Delivery]:
        """Wait for one delivery, then take whatever else is already waiting (up to max_size)."""
        batch = [await self._pending.get()]
        while len(batch) < max_size and not self._pending.empty():
            batch.append(self._pending.get_nowait())
        return batch

    def alive(self) -> bool:
        """True when the subscriber holds a consumer on an open channel of an open connection."""
        # FastStream exposes no liveness check, and robust reconnection can bring back the
        # connection without the consumer (faststream#2758, aio-pika#563): look underneath.
        queue = self._subscriber._queue_obj
        if queue is None or self._subscriber._consumer_tag is None:
            return False
        try:
            return not queue.channel.is_closed
        except Exception:  # aio-pika raises when asked for the channel of a closed queue
            return False

    async def restart(self) -> None:
        """Drop the connection and subscribe again; raises when the broker is unreachable."""
        await self.broker.stop()
        await self.broker.start()

    async def stop(self) -> None:
        """Stop consuming and close the connection."""
        await self.broker.stop()


async def keep_subscribed(subscription: QueueSubscription, interval_s: float) -> None:
    """Re-subscribe whenever the consumer is gone; run as a task, cancel to stop."""
    while True:
        if not subscription.alive():
            try:
                await subscription.restart()
                log.info("consumer subscribed")
            except Exception as error:
                log.warning("consumer not subscribed; will retry", reason=type(error).__name__)
        await asyncio.sleep(interval_s)


async def settle(action: Awaitable[Any]) -> None:
    """Await an ack, reject or nack; a dead channel only means the broker will redeliver.

    Every consumer here stores by message id, so a redelivery is harmless.
    """
    try:
        await action
    except Exception as error:
        log.warning(
            "could not settle a delivery; it will be redelivered", reason=type(error).__name__
        )


async def ack_all(deliveries: Sequence[Delivery]) -> None:
    """Ack every delivery of a processed batch with one basic.ack(multiple) per channel.

    Everything below the highest tag on that channel must be settled or in `deliveries`:
    true for a consumer that settles batch by batch in delivery order, as ours do. A dead
    channel means redelivery, which the stores' message-id keys make harmless.
    """
    highest: dict[int, tuple[int, Delivery]] = {}
    for delivery in deliveries:
        try:
            channel = id(delivery.raw_message.channel)
        except ChannelInvalidStateError:
            # aio-pika raises on asking for a closed channel (a broker restart): nothing can
            # be acked on it, and RabbitMQ redelivers what it held.
            continue
        tag = delivery.raw_message.delivery_tag or 0
        if channel not in highest or tag > highest[channel][0]:
            highest[channel] = (tag, delivery)
    for _, delivery in highest.values():
        try:
            await delivery.raw_message.ack(multiple=True)
        except Exception as error:
            log.warning(
                "could not ack a batch; it will be redelivered",
                reason=type(error).__name__,
                count=len(deliveries),
            )


async def _undecoded(message: Delivery) -> bytes:
    # Envelopes are decoded by broker.envelope's strict decoder, never by the framework.
    return message.body
