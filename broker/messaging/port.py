"""The broker port: what the services need from a message broker, and nothing more.

Publish with a confirm; consume one existing queue in batches; settle each delivery (ack,
requeue, dead-letter). Nothing is declared at run time: the topology is applied beforehand
by the operator (`caselink topology apply`), and the services' users may not configure.
Two implementations: `broker.amqp` (aiormq, RabbitMQ) and `broker.testing` (in memory).
"""

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


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
        """Persistent and mandatory; `user_id` is the publisher's own user.

        Raises Unroutable (no queue takes it), PublishRefused (the broker refused it: no
        write permission, an unknown exchange, a forged user_id, the login), BrokerUnavailable
        (no connection or channel) or DeliveryError (nacked).
        """

    async def close(self) -> None:
        """Release the connection; a later publish opens a new one."""


class Settlement(Protocol):
    """How one delivery is settled; the broker implementation provides it.

    Settling raises BrokerUnavailable when the session it came on is gone; the broker then
    delivers the message again. `broker.messaging.settle` turns that into a log line.
    """

    @property
    def session(self) -> Hashable:
        """Deliveries of one session (an AMQP channel) may be acked together."""

    @property
    def tag(self) -> int:
        """Increases with each delivery of a session."""

    def is_open(self) -> bool:
        """False once the session is gone: nothing can be settled on it any more."""

    async def ack(self, *, multiple: bool = False) -> None:
        """Done with it; with `multiple`, also every unsettled delivery of the session below."""

    async def requeue(self) -> None:
        """Back to the queue; counts towards the queue's delivery limit (then dead-lettered)."""

    async def dead_letter(self) -> None:
        """To the queue's dead-letter exchange now (reason `rejected`)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message taken from a queue and not settled yet.

    `message_id` and `user_id` are the AMQP properties: the broker vouches for `user_id` (it
    refuses a publish whose user_id is not the publishing user), nothing vouches for the
    message id.
    """

    body: bytes
    message_id: str | None
    user_id: str | None
    routing_key: str
    headers: Mapping[str, Any]
    settlement: Settlement


class Subscription(Protocol):
    """A consumer of one existing queue that hands its deliveries over in batches."""

    async def start(self) -> None:
        """(Re)subscribe; raises BrokerUnavailable (unreachable) or SubscribeRefused.

        Drops the consumer this subscription held, if any: its unsettled deliveries go back
        to the queue.
        """

    def alive(self) -> bool:
        """True when this subscription holds a consumer the broker still delivers to."""

    async def next_batch(self, max_size: int) -> list[Delivery]:
        """Wait for one delivery, then take whatever else is already waiting (up to max_size).

        Deliveries whose session has closed since are left out: they can no longer be
        settled, and the broker delivers them again.
        """

    async def stop(self) -> None:
        """Stop consuming; unsettled deliveries go back to the queue."""


class QueueGauge(Protocol):
    """How many messages wait in a queue (a passive look: nothing is declared or taken)."""

    async def depth(self, queue: str) -> int:
        """Messages ready in `queue`; raises BrokerUnavailable, or QueueLookRefused (no such
        queue, no access)."""
