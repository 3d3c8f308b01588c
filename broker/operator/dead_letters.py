"""Operator access to the dead-letter queue: list, show, and requeue what was refused.

Reads by fetching without acking and then closing the channel, so every message not
explicitly requeued goes back to the queue untouched. Shows ids, reasons and digests only:
a dead letter is an envelope, and even its ciphertext stays out of an operator's terminal.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from broker.messaging.errors import DeliveryError
from broker.topology.names import (
    DEAD_LETTER_QUEUE,
    MESSAGES_EXCHANGE,
    ORIGINAL_ROUTING_KEY_HEADER,
    REFUSAL_DETAIL_HEADER,
    REFUSAL_HEADER,
)

MAX_FETCH = 10_000


@dataclass(frozen=True)
class DeadLetter:
    """What an operator may see of one dead letter."""

    message_id: str | None
    reason: str
    detail: str | None
    routing_key: str
    size: int
    sha256: str
    deaths: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    """Summarise a dead letter from its headers: Caselink's refusal, or RabbitMQ's x-death."""
    headers: dict[str, Any] = dict(message.headers or {})
    raw_deaths = headers.get("x-death")
    deaths = [d for d in raw_deaths if isinstance(d, dict)] if isinstance(raw_deaths, list) else []
    first: dict[str, Any] = deaths[0] if deaths else {}
    routing_keys = first.get("routing-keys") or [message.routing_key or ""]
    refusal = headers.get(REFUSAL_HEADER)
    detail = headers.get(REFUSAL_DETAIL_HEADER)
    return DeadLetter(
        message_id=message.message_id,
        reason=str(refusal if refusal is not None else first.get("reason", "unknown")),
        detail=str(detail) if detail is not None else None,
        routing_key=str(headers.get(ORIGINAL_ROUTING_KEY_HEADER) or routing_keys[0]),
        size=len(message.body),
        sha256=hashlib.sha256(message.body).hexdigest(),
        deaths=sum(int(d.get("count", 1)) for d in deaths),
    )


async def _fetch_all(channel: aio_pika.abc.AbstractChannel) -> list[AbstractIncomingMessage]:
    queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
    fetched: list[AbstractIncomingMessage] = []
    while len(fetched) < MAX_FETCH:
        message = await queue.get(no_ack=False, fail=False, timeout=10)
        if message is None:
            break
        fetched.append(message)
    return fetched


async def list_dead_letters(amqp_url: str) -> list[DeadLetter]:
    """Every dead letter (up to MAX_FETCH), left in the queue."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel()
        return [describe(m) for m in await _fetch_all(channel)]
        # Closing the channel returns every unacked message to the queue.


async def requeue_dead_letters(amqp_url: str, message_ids: Sequence[str] | None) -> list[str]:
    """Publish the chosen dead letters (all when None) back to their recipients; return ids.

    Each is republished (persistent, mandatory, confirmed) before it is acked from the
    dead-letter queue, so a failure leaves it where it was. Raises DeliveryError.
    """
    wanted = None if message_ids is None else set(message_ids)
    requeued: list[str] = []
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(MESSAGES_EXCHANGE, ensure=False)
        for message in await _fetch_all(channel):
            if wanted is not None and message.message_id not in wanted:
                continue
            letter = describe(message)
            republished = aio_pika.Message(
                message.body,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                content_type=message.content_type,
            )
            try:
                await exchange.publish(republished, letter.routing_key, mandatory=True, timeout=30)
            except (TimeoutError, aio_pika.exceptions.AMQPError) as exc:
                raise DeliveryError(f"could not requeue {message.message_id}") from exc
            await message.ack()
            requeued.append(message.message_id or "")
    return requeued
