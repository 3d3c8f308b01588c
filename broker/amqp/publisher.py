"""Confirmed, persistent, mandatory publishing over one AMQP channel (the port's Publisher).

Every publish waits for the broker's confirm; a nack, a return (unroutable), a refusal
(the channel closed with 403, 404 or 406, or the login refused) or a lost connection raises
a DeliveryError, so the outbox marks a message sent only when RabbitMQ has taken
responsibility for it. `user_id` is set on every message so that RabbitMQ itself
refuses a forged sender. Written on aiormq (aio-pika's protocol layer): building aio-pika
Message objects cost more than the rest of a publish on the gateway's hot path.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

import aiormq
from aiormq.abc import AbstractConnection
from aiormq.exceptions import AMQPError, ChannelInvalidStateError, PublishError
from pamqp.commands import Basic

from broker.amqp.connection import connect
from broker.amqp.refusals import refusal_code
from broker.messaging.errors import BrokerUnavailable, DeliveryError, PublishRefused, Unroutable
from broker.tls.client import AmqpTls
from broker.topology.names import ENVELOPE_CONTENT_TYPE

CONFIRM_TIMEOUT_S = 30.0
PERSISTENT = 2


class ConfirmedPublisher:
    """The broker port's Publisher on RabbitMQ; reconnects lazily after a failure.

    A plain (not robust) connection on purpose: after any failure the next publish opens a
    fresh one, so there is no half-recovered state to reason about; the outbox retries.
    """

    def __init__(self, amqp_url: str, *, user_id: str, tls: AmqpTls | None = None) -> None:
        self._url = amqp_url
        self._tls = tls
        self._user_id = user_id
        self._connection: AbstractConnection | None = None
        self._channel: aiormq.Channel | None = None
        self._lock = asyncio.Lock()
        # Counts failed attempts to open a channel, and keeps how the last one failed:
        # publishes that waited for the lock while an attempt failed fail with it, instead
        # of each trying again (a whole publish window of connection attempts per outage).
        self._failed_attempts = 0
        self._last_failure: BaseException | None = None

    async def _ready_channel(self) -> aiormq.Channel:
        if self._channel is not None and not self._channel.is_closed:
            return self._channel
        failed_before = self._failed_attempts
        async with self._lock:
            if self._channel is not None and not self._channel.is_closed:
                return self._channel
            if self._failed_attempts != failed_before and self._last_failure is not None:
                raise _not_opened(self._last_failure)
            await self._drop()
            try:
                self._connection = await connect(self._url, self._tls)
                channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                # The concrete class: only it takes basic_publish(wait=...), used below.
                if not isinstance(channel, aiormq.Channel):
                    raise TypeError(f"aiormq returned a {type(channel).__name__}")
                self._channel = channel
            except (TimeoutError, AMQPError, OSError) as exc:
                await self._drop()
                self._failed_attempts += 1
                self._last_failure = exc
                raise _not_opened(exc) from exc
            self._last_failure = None
            return self._channel

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
        """Publish and wait for the confirm.

        Raises Unroutable, PublishRefused, BrokerUnavailable or DeliveryError (nacked).
        """
        channel = await self._ready_channel()
        properties = Basic.Properties(
            delivery_mode=PERSISTENT,
            message_id=message_id,
            user_id=self._user_id,
            content_type=content_type,
            headers=dict(headers) if headers else None,
        )
        try:
            confirm = await channel.basic_publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=properties,
                mandatory=True,
                timeout=CONFIRM_TIMEOUT_S,
                # Await the confirm only, not also the socket write before it: the confirm
                # implies the write, and the extra wait held the channel lock across a loop
                # turn per message (about a sixth of a publish's CPU).
                wait=False,
            )
        except PublishError as exc:
            raise Unroutable(f"message {message_id} returned by the broker: unroutable") from exc
        except (TimeoutError, AMQPError, ChannelInvalidStateError, OSError) as exc:
            await self.close()
            code = refusal_code(exc)
            if code is not None:
                raise PublishRefused(
                    f"message {message_id} refused by the broker: {type(exc).__name__}", code=code
                ) from exc
            raise BrokerUnavailable(
                f"message {message_id} not confirmed: {type(exc).__name__}"
            ) from exc
        if not isinstance(confirm, Basic.Ack):
            raise DeliveryError(f"message {message_id} was nacked by the broker")

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and not connection.is_closed:
            await connection.close()

    async def close(self) -> None:
        """Close the connection; pending publishes fail with BrokerUnavailable."""
        async with self._lock:
            await self._drop()


def _not_opened(cause: BaseException) -> DeliveryError:
    code = refusal_code(cause)
    if code is not None:
        return PublishRefused(f"login refused: {type(cause).__name__}", code=code)
    return BrokerUnavailable(f"cannot open a publishing channel: {type(cause).__name__}")
