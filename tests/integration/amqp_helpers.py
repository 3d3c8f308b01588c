"""Bounded aio-pika helpers for the permission tests: publish confirmed, take one message."""

import asyncio

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from pamqp.commands import Basic

from schemas.ids import new_message_id
from tests.integration.rabbit_federation import TIMEOUT_S


async def connect(url: str) -> AbstractConnection:
    """A plain connection: a refused login must fail, not retry in the background."""
    return await asyncio.wait_for(aio_pika.connect(url), TIMEOUT_S)


async def publish(
    url: str,
    exchange: str,
    key: str,
    *,
    user_id: str | None,
    message_id: str | None = None,
    body: bytes = b"sealed envelope stand-in",
) -> str:
    """Publish persistent, mandatory and confirmed; return the message id.

    Raises what the broker answers: a closed channel (ACCESS_REFUSED, PRECONDITION_FAILED),
    or aio_pika's DeliveryError when the message is returned as unroutable.
    """
    message_id = message_id or new_message_id()
    async with await connect(url) as connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        target = await channel.get_exchange(exchange, ensure=False)
        message = aio_pika.Message(
            body,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            user_id=user_id,
            message_id=message_id,
        )
        confirmation = await asyncio.wait_for(
            target.publish(message, routing_key=key, mandatory=True), TIMEOUT_S
        )
        assert isinstance(confirmation, Basic.Ack)
    return message_id


async def take(url: str, queue: str, message_id: str | None = None) -> AbstractIncomingMessage:
    """Consume `queue` until `message_id` arrives (None: the first message); every message
    seen on the way is acked."""
    async with await connect(url) as connection:
        channel = await connection.channel()
        source = await channel.get_queue(queue, ensure=False)
        async with source.iterator() as messages:

            async def first() -> AbstractIncomingMessage:
                async for message in messages:
                    await message.ack()
                    if message_id is None or message.message_id == message_id:
                        return message
                raise AssertionError(f"consumer on {queue} ended before {message_id}")

            return await asyncio.wait_for(first(), TIMEOUT_S)
