"""Operator access to the dead-letter queue: list, show, requeue, and how full it is.

Connects as the operator's own RabbitMQ user (`dlq-operator`: read the dead-letter queue,
write the default exchange, tag impersonator). Reads by fetching without acking and then
closing the channel, so every message not explicitly requeued goes back to the queue
untouched. What it shows is `dead_letter_view`'s: ids from the verified signed header,
RabbitMQ's x-death, digests, and escaped header values; never the ciphertext.

A requeue puts a letter back into the queue RabbitMQ dead-lettered it from (x-death), by
name through the default exchange, so it reaches that queue alone, with its body, headers
and AMQP properties unchanged, `user_id` included: publishing another user's `user_id` is
what the impersonator tag allows, and the recipient's gateway checks that user against the
envelope's signed sender. It is confirmed before the dead letter is acked, so a failure
leaves it where it was.
"""

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from aiormq.exceptions import (
    AMQPConnectionError,
    AMQPError,
    ChannelAccessRefused,
    ChannelNotFoundEntity,
    ChannelPreconditionFailed,
    ProbableAuthenticationError,
    ProtocolSyntaxError,
)
from yarl import URL

from broker.envelope import TrustedDirectory
from broker.errors import CaselinkError
from broker.messaging.dead_letter_watch import Depth
from broker.operator.dead_letter_view import (
    DeadLetter,
    describe,
    requeue_refusal,
    select,
)
from broker.operator.printable import printable
from broker.tls.client import AmqpTls, login_url
from broker.topology.names import DEAD_LETTER_QUEUE

MAX_FETCH = 10_000
TIMEOUT_S = 10.0


class DeadLetterError(CaselinkError):
    """The dead-letter queue could not be read or a letter not requeued: one line, no secret."""

    reason = "dead_letters"


@dataclass(frozen=True)
class Fetched:
    """One dead letter as fetched (unacked) and as shown."""

    message: AbstractIncomingMessage
    letter: DeadLetter


@dataclass
class Requeued:
    """What a requeue did: letters seen, put back, names that matched nothing, refused."""

    seen: int = 0
    requeued: list[DeadLetter] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    refused: list[tuple[DeadLetter, str]] = field(default_factory=list)


def _where(url: str) -> URL:
    try:
        parsed = URL(url)
    except (TypeError, ValueError) as exc:
        raise DeadLetterError("amqp_url is not a URL") from exc
    if parsed.scheme not in ("amqp", "amqps") or not parsed.host:
        raise DeadLetterError("amqp_url must be amqp://USER:PASSWORD@HOST:PORT/VHOST")
    return parsed


@contextmanager
def _broker_errors(url: URL) -> Iterator[None]:
    """RabbitMQ's refusals as one line each, naming host, vhost and user, never the password."""
    where = f"{url.host}:{url.port}"
    vhost = url.path[1:] or "/"
    try:
        yield
    except ProbableAuthenticationError as exc:
        raise DeadLetterError(f"RabbitMQ at {where} refused the login of {url.user}") from exc
    except ProtocolSyntaxError as exc:
        # RabbitMQ closes the connection instead of opening the vhost.
        raise DeadLetterError(
            f"RabbitMQ refused vhost {vhost} to {url.user}: it does not exist or is not theirs"
        ) from exc
    except ChannelAccessRefused as exc:
        reply = printable(exc.args[0] if exc.args else exc)
        raise DeadLetterError(f"RabbitMQ refused: {reply}") from exc
    except ChannelNotFoundEntity as exc:
        raise DeadLetterError(
            f"no queue {DEAD_LETTER_QUEUE} in vhost {vhost}: run `caselink topology apply`"
        ) from exc
    except AMQPConnectionError as exc:
        raise DeadLetterError(f"cannot reach RabbitMQ at {where}") from exc
    except TimeoutError as exc:
        raise DeadLetterError(f"RabbitMQ at {where} did not answer in {TIMEOUT_S:g} s") from exc
    except (AMQPError, OSError) as exc:
        raise DeadLetterError(f"RabbitMQ at {where} failed: {type(exc).__name__}") from exc


@asynccontextmanager
async def _connected(amqp_url: str, tls: AmqpTls | None) -> AsyncIterator[AbstractConnection]:
    url = _where(amqp_url)
    with _broker_errors(url):
        # aio-pika hands the context and the URL's `auth` to aiormq, as broker.amqp does.
        connection = await aio_pika.connect(
            login_url(amqp_url, tls),
            timeout=TIMEOUT_S,
            ssl_context=None if tls is None else tls.context,
        )
        async with connection:
            yield connection


async def _fetch_all(
    channel: AbstractChannel, directory: TrustedDirectory | None, now: int
) -> list[Fetched]:
    queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=False)
    fetched: list[Fetched] = []
    while len(fetched) < MAX_FETCH:
        message = await queue.get(no_ack=False, fail=False, timeout=TIMEOUT_S)
        if message is None:
            break
        letter = describe(
            message.body,
            user_id=message.user_id,
            headers=message.headers or {},
            directory=directory,
            now=now,
        )
        fetched.append(Fetched(message, letter))
    return fetched


async def list_dead_letters(
    amqp_url: str, directory: TrustedDirectory | None, now: int, *, tls: AmqpTls | None = None
) -> list[DeadLetter]:
    """Every dead letter (up to MAX_FETCH), left in the queue; raises DeadLetterError."""
    async with _connected(amqp_url, tls) as connection:
        channel = await connection.channel()
        # Closing the channel returns every unacked message to the queue.
        return [item.letter for item in await _fetch_all(channel, directory, now)]


async def dead_letter_depth(amqp_url: str, bound: int, *, tls: AmqpTls | None = None) -> Depth:
    """How many messages the dead-letter queue holds; raises DeadLetterError."""
    async with _connected(amqp_url, tls) as connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(DEAD_LETTER_QUEUE, passive=True)
        count = queue.declaration_result.message_count
        return Depth(messages=count or 0, bound=bound)


def _republished(message: AbstractIncomingMessage) -> aio_pika.Message:
    # Everything the original publisher set, unchanged; x-death stays, so RabbitMQ counts a
    # second death of the same letter in the same queue on the same entry.
    return aio_pika.Message(
        message.body,
        headers=dict(message.headers or {}),
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        user_id=message.user_id,
        app_id=message.app_id,
    )


async def requeue_dead_letters(
    amqp_url: str,
    directory: TrustedDirectory | None,
    wanted: Sequence[str] | None,
    now: int,
    *,
    tls: AmqpTls | None = None,
) -> Requeued:
    """Put the letters `wanted` names (see `dead_letter_view.select`) back where they died.

    Raises DeadLetterError when RabbitMQ refuses (the operator lacks the impersonator tag,
    the queue is gone...); the letters requeued before that stay requeued.
    """
    done = Requeued()
    async with _connected(amqp_url, tls) as connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        fetched = await _fetch_all(channel, directory, now)
        done.seen = len(fetched)
        chosen, done.unmatched = select((item.letter for item in fetched), wanted)
        chosen_ids = {id(letter) for letter in chosen}
        for item in fetched:
            letter = item.letter
            if id(letter) not in chosen_ids:
                continue
            refusal = requeue_refusal(letter)
            if refusal is not None:
                done.refused.append((letter, refusal))
                continue
            await _put_back(channel, item, letter)
            done.requeued.append(letter)
    return done


async def _put_back(channel: AbstractChannel, item: Fetched, letter: DeadLetter) -> None:
    queue = letter.queue or ""
    try:
        await channel.default_exchange.publish(
            _republished(item.message), queue, mandatory=True, timeout=TIMEOUT_S
        )
    except aio_pika.exceptions.DeliveryError as exc:
        raise DeadLetterError(f"queue {queue} did not take letter {letter.sha256}") from exc
    except ChannelPreconditionFailed as exc:
        raise DeadLetterError(
            "RabbitMQ refused to publish as the original sender: the operator's user needs "
            "the impersonator tag (`caselink topology apply` gives it)"
        ) from exc
    await item.message.ack()
