"""The broker port's QueueGauge on RabbitMQ: a passive queue.declare, which reports the ready
count and needs no configure permission (checked against RabbitMQ 3.10 in the tests).

A connection per look: the gauge is read once a minute, and holding nothing open between
looks leaves no half-broken channel to recover.
"""

from aiormq.exceptions import AMQPError, ChannelInvalidStateError

from broker.amqp.connection import connect
from broker.amqp.refusals import refusal_code
from broker.messaging.errors import BrokerUnavailable, QueueLookRefused
from broker.tls.client import AmqpTls


class AmqpQueueGauge:
    """Looks at queues as the user of `amqp_url`."""

    def __init__(self, amqp_url: str, tls: AmqpTls | None = None) -> None:
        self._url = amqp_url
        self._tls = tls

    async def depth(self, queue: str) -> int:
        """Messages ready in `queue`; raises BrokerUnavailable or QueueLookRefused."""
        try:
            connection = await connect(self._url, self._tls)
        except (TimeoutError, AMQPError, OSError) as exc:
            raise _failed(queue, exc) from exc
        try:
            channel = await connection.channel()
            declared = await channel.queue_declare(queue, passive=True)
            return declared.message_count or 0
        except (TimeoutError, AMQPError, ChannelInvalidStateError, OSError) as exc:
            raise _failed(queue, exc) from exc
        finally:
            if not connection.is_closed:
                await connection.close()


def _failed(queue: str, cause: BaseException) -> BrokerUnavailable | QueueLookRefused:
    code = refusal_code(cause)
    if code is not None:
        return QueueLookRefused(f"look at queue {queue} refused: {type(cause).__name__}", code=code)
    return BrokerUnavailable(f"cannot look at queue {queue}: {type(cause).__name__}")
