"""The broker port's Subscription on RabbitMQ: one queue, deliveries handed over in batches.

Shared by the agency gateway (its own queue) and the tracker (the tap). Deliveries are
settled through their `ChannelSettlement` by whoever processes them (broker.messaging).

Written on aiormq (aio-pika's protocol layer), like the publisher. Draining the tap with
no work per message, a delivery cost about 145 µs of the event loop's time through
FastStream's subscriber, 100 µs through aio-pika's consumer and 60 µs here; with
FastStream's, the gateway benchmark's ratio fell from about 0.23 to 0.19
(docs/performance.md).
"""

import asyncio
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aiormq
from aiormq.abc import AbstractChannel, AbstractConnection, DeliveredMessage
from aiormq.exceptions import AMQPError, ChannelInvalidStateError

from broker.amqp.connection import connect
from broker.amqp.refusals import refusal_code
from broker.logs import get_logger
from broker.messaging.errors import BrokerUnavailable, SubscribeRefused
from broker.messaging.port import Delivery
from broker.tls.client import AmqpTls

log = get_logger(__name__)

__all__ = ["ChannelSettlement", "QueueSubscription"]


@dataclass(frozen=True, slots=True)
class ChannelSettlement:
    """The port's Settlement of one delivery: its tag on the channel it came on."""

    channel: AbstractChannel
    tag: int

    @property
    def session(self) -> Hashable:
        return id(self.channel)

    def is_open(self) -> bool:
        return not self.channel.is_closed

    async def ack(self, *, multiple: bool = False) -> None:
        with _session_lost():
            await self.channel.basic_ack(self.tag, multiple=multiple)

    async def requeue(self) -> None:
        # reject with requeue (not nack): RabbitMQ counts it towards the quorum queue's
        # x-delivery-limit on every version, so a poison message ends as a dead letter.
        with _session_lost():
            await self.channel.basic_reject(self.tag, requeue=True)

    async def dead_letter(self) -> None:
        with _session_lost():
            await self.channel.basic_reject(self.tag, requeue=False)


@contextmanager
def _session_lost() -> Iterator[None]:
    try:
        yield
    except (AMQPError, ChannelInvalidStateError, OSError) as error:
        raise BrokerUnavailable(f"not settled: {type(error).__name__}") from error


def _delivery(message: DeliveredMessage) -> Delivery:
    properties = message.header.properties
    return Delivery(
        body=message.body,
        message_id=properties.message_id,
        user_id=properties.user_id,
        routing_key=message.routing_key or "",
        headers=properties.headers or {},
        settlement=ChannelSettlement(message.channel, message.delivery_tag or 0),
    )


class QueueSubscription:
    """The port's Subscription: one existing queue (never declared: no configure right).

    A plain connection, not a robust one: robust reconnection can bring back a connection
    without its consumer (aio-pika#563), so the port's `keep_subscribed` checks `alive()` and
    subscribes again from scratch instead.
    """

    def __init__(
        self, amqp_url: str, queue: str, *, prefetch: int, tls: AmqpTls | None = None
    ) -> None:
        self._url = amqp_url
        self._tls = tls
        self._queue = queue
        self._prefetch = prefetch
        self._pending: asyncio.Queue[Delivery] = asyncio.Queue()
        self._connection: AbstractConnection | None = None
        self._channel: aiormq.Channel | None = None
        self._consumer_tag: str | None = None

    async def start(self) -> None:
        """(Re)connect and start consuming.

        Raises BrokerUnavailable when the broker cannot be reached, SubscribeRefused when it
        refuses (login, or the queue: not this user's, or missing). Drops the connection
        this subscription held, if any: its deliveries go back to the queue.
        """
        try:
            await self._start()
        except (TimeoutError, AMQPError, ChannelInvalidStateError, OSError) as error:
            code = refusal_code(error)
            if code is not None:
                raise SubscribeRefused(
                    f"consumer on {self._queue} refused: {type(error).__name__}", code=code
                ) from error
            raise BrokerUnavailable(
                f"consumer on {self._queue} not started: {type(error).__name__}"
            ) from error

    async def _start(self) -> None:
        await self.stop()
        connection = await connect(self._url, self._tls)
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
            live = [delivery for delivery in batch if delivery.settlement.is_open()]
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
