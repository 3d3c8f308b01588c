"""Confirmed, persistent, mandatory publishing over one aio-pika channel.

Every publish waits for the broker's confirm; a nack, a return (unroutable) or a lost
connection raises a DeliveryError, so the outbox marks a message sent only when RabbitMQ
has taken responsibility for it. `user_id` is set on every message so that RabbitMQ itself
refuses a forged sender.
"""

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from aio_pika.exceptions import AMQPError, ChannelClosed, PublishError
from aio_pika.exceptions import DeliveryError as PikaDeliveryError

from broker.transport.errors import BrokerUnavailable, DeliveryError, Unroutable

CONFIRM_TIMEOUT_S = 30.0


class Publisher(Protocol):
    """Publishes one message and returns only when the broker has confirmed it."""

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = ...,
    ) -> None:
        """Raises Unroutable, BrokerUnavailable or DeliveryError when not confirmed."""


class ConfirmedPublisher:
    """Publishes to named exchanges with confirms; reconnects lazily after a failure.

    A plain (not robust) connection on purpose: after any failure the next publish opens a
    fresh one, so there is no half-recovered state to reason about; the outbox retries.
    """

    def __init__(self, amqp_url: str, *, user_id: str) -> None:
        self._url = amqp_url
        self._user_id = user_id
        self._connection: AbstractConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchanges: dict[str, AbstractExchange] = {}
        self._lock = asyncio.Lock()

    async def _ready_channel(self) -> AbstractChannel:
        if self._channel is not None and not self._channel.is_closed:
            return self._channel
        async with self._lock:
            if self._channel is not None and not self._channel.is_closed:
                return self._channel
            await self._drop()
            try:
                self._connection = await aio_pika.connect(self._url, timeout=10)
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
            except (TimeoutError, AMQPError, OSError) as exc:
                await self._drop()
                raise BrokerUnavailable(
                    f"cannot open a publishing channel: {type(exc).__name__}"
                ) from exc
            return self._channel

    async def _exchange(self, name: str) -> AbstractExchange:
        channel = await self._ready_channel()
        exchange = self._exchanges.get(name)
        if exchange is None:
            # ensure=False: agencies have no configure permission, the exchange exists already.
            exchange = await channel.get_exchange(name, ensure=False)
            self._exchanges[name] = exchange
        return exchange

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = "application/caselink-envelope+json",
    ) -> None:
        """Publish and wait for the confirm. Raises Unroutable, BrokerUnavailable, DeliveryError."""
        target = await self._exchange(exchange)
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message_id,
            user_id=self._user_id,
            content_type=content_type,
            headers=dict(headers or {}),
        )
        try:
            confirm = await target.publish(
                message, routing_key, mandatory=True, timeout=CONFIRM_TIMEOUT_S
            )
        except PikaDeliveryError as exc:
            raise Unroutable(f"message {message_id} returned by the broker: unroutable") from exc
        except PublishError as exc:
            raise DeliveryError(f"message {message_id} was not confirmed") from exc
        except (TimeoutError, AMQPError, ChannelClosed, OSError, RuntimeError) as exc:
            self._channel = None
            raise BrokerUnavailable(
                f"message {message_id} not confirmed: {type(exc).__name__}"
            ) from exc
        if not isinstance(confirm, aiormq.spec.Basic.Ack):
            raise DeliveryError(f"message {message_id} was nacked by the broker")

    async def _drop(self) -> None:
        # Exchange objects belong to the old channel: forget them with it.
        self._exchanges.clear()
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def close(self) -> None:
        """Close the connection; pending publishes fail with BrokerUnavailable."""
        async with self._lock:
            await self._drop()
