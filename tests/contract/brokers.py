"""The two implementations of the broker port, set up alike for the contract tests.

Both hold the same federation's definitions: RabbitMQ has them applied in a vhost of its
own, the in-memory broker is built from them. Agency and tracker users are the confined
ones of the definitions; `admin` (guest) only reads the dead-letter queue.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import aio_pika

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription
from broker.messaging.port import Delivery, Publisher, Subscription
from broker.testing import InMemoryBroker, InMemoryPublisher, InMemorySubscription
from broker.topology.names import Topology
from tests.integration.rabbit_federation import (
    AGENCIES,
    TIMEOUT_S,
    Federation,
    applied_federation,
    definitions_for,
    make_directory,
    unique_topology,
)

ADMIN = "guest"


class BrokerUnderTest(Protocol):
    """What a contract test needs: clients as a named user, and the queues' ready counts."""

    topology: Topology

    def publisher(self, user: str, *, user_id: str | None = None) -> Publisher: ...

    def subscription(self, user: str, queue: str, *, prefetch: int) -> Subscription: ...

    async def ready(self, queue: str) -> int:
        """Messages waiting in `queue`, not delivered to any consumer."""


class RealBroker:
    def __init__(self, federation: Federation) -> None:
        self.topology = federation.topology
        self._federation = federation

    def _url(self, user: str) -> str:
        if user == ADMIN:
            return self._federation.admin_url()
        if user == self.topology.tracker_user():
            return self._federation.tracker_url()
        return self._federation.url(user.removeprefix(self.topology.user_prefix))

    def publisher(self, user: str, *, user_id: str | None = None) -> Publisher:
        return ConfirmedPublisher(self._url(user), user_id=user if user_id is None else user_id)

    def subscription(self, user: str, queue: str, *, prefetch: int) -> Subscription:
        return QueueSubscription(self._url(user), queue, prefetch=prefetch)

    async def ready(self, queue: str) -> int:
        connection = await aio_pika.connect(self._federation.admin_url(), timeout=TIMEOUT_S)
        async with connection:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            count = declared.declaration_result.message_count
            return 0 if count is None else count


class MemoryBroker:
    def __init__(self, broker: InMemoryBroker, topology: Topology) -> None:
        self.topology = topology
        self._broker = broker

    def publisher(self, user: str, *, user_id: str | None = None) -> Publisher:
        return InMemoryPublisher(self._broker, user=user, user_id=user_id)

    def subscription(self, user: str, queue: str, *, prefetch: int) -> Subscription:
        return InMemorySubscription(self._broker, queue, prefetch=prefetch)

    async def ready(self, queue: str) -> int:
        return self._broker.ready(queue)


@asynccontextmanager
async def broker_under_test(kind: str, secrets: Path) -> AsyncIterator[BrokerUnderTest]:
    """`kind` "rabbitmq" (a fresh vhost, removed afterwards) or "memory"."""
    if kind == "rabbitmq":
        with applied_federation(secrets) as federation:
            yield RealBroker(federation)
        return
    topology = unique_topology()
    _, definitions = definitions_for(topology, make_directory(AGENCIES), secrets)
    memory = InMemoryBroker.from_definitions(definitions)
    memory.add_user(ADMIN)
    yield MemoryBroker(memory, topology)


async def take(subscription: Subscription, count: int) -> list[Delivery]:
    """Exactly `count` deliveries, in as many batches as they come; fails after TIMEOUT_S."""
    taken: list[Delivery] = []
    async with asyncio.timeout(TIMEOUT_S):
        while len(taken) < count:
            taken += await subscription.next_batch(count - len(taken))
    return taken
