"""A federation on the in-memory broker: keys, a signed directory, and the applied topology.

For unit tests of the consumers: the same definitions `caselink topology apply` would give
RabbitMQ, held by broker.testing's InMemoryBroker, with no broker process at all.
"""

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from broker.envelope import AgencyKeys, RootKey, TrustedDirectory, seal, verify_directory
from broker.messaging.errors import BrokerUnavailable
from broker.messaging.port import Publisher
from broker.testing import InMemoryBroker, InMemoryPublisher, InMemorySubscription
from broker.topology.definitions import build_definitions
from broker.topology.names import MESSAGES_EXCHANGE, Topology, routing_key
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from tests.integration.rabbit_federation import AGENCIES, make_keys


@dataclass(frozen=True)
class MemoryFederation:
    """Agencies whose keys the test holds, on an in-memory broker."""

    broker: InMemoryBroker
    topology: Topology
    root: RootKey
    keys: dict[str, AgencyKeys]
    signed_directory: bytes
    trusted: TrustedDirectory

    def publisher(self, user: str) -> Publisher:
        return InMemoryPublisher(self.broker, user=user)

    def agency_publisher(self, agency: str) -> Publisher:
        return self.publisher(self.topology.agency_user(agency))

    def subscription(self, queue: str, *, prefetch: int = 64) -> InMemorySubscription:
        return InMemorySubscription(self.broker, queue, prefetch=prefetch)

    def seal(
        self,
        sender: str,
        recipient: str,
        *,
        message_id: str | None = None,
        kind: MessageKind = MessageKind.REFERRAL,
    ) -> bytes:
        """A referral (or the example body of `kind`) from `sender` to `recipient`, sealed now."""
        return seal(
            example_body(kind),
            kind=kind,
            sender=self.keys[sender],
            recipient=recipient,
            directory=self.trusted,
            now=int(time.time()),
            thread_id=new_thread_id(),
            message_id=message_id or new_message_id(),
        )

    async def send(
        self,
        sender: str,
        recipient: str,
        body: bytes,
        message_id: str,
        *,
        published_by: str | None = None,
        omit_user_id: bool = False,
    ) -> None:
        """Publish `body` as `sender`'s gateway would, routed to `recipient` (and the tap).

        `published_by` (an agency) publishes it instead, with its own user; `omit_user_id`
        leaves the AMQP user_id out, as RabbitMQ allows.
        """
        user = self.topology.agency_user(published_by or sender)
        publisher = InMemoryPublisher(self.broker, user=user, omit_user_id=omit_user_id)
        await publisher.publish(
            MESSAGES_EXCHANGE,
            routing_key(MessageKind.REFERRAL, sender, recipient),
            body,
            message_id=message_id,
        )


def memory_federation(agency_ids: Iterable[str] = AGENCIES) -> MemoryFederation:
    """The test agencies (or `agency_ids`: one not in AGENCIES is a social services agency),
    keyed, with the topology applied to a fresh in-memory broker."""
    agency_ids = list(agency_ids)
    root, keys, signed = make_keys(agency_ids)
    trusted = verify_directory(signed, root.public())
    topology = Topology()
    users = topology.users(agency_ids)
    definitions = build_definitions(trusted.directory, dict.fromkeys(users, "unused"), topology)
    broker = InMemoryBroker.from_definitions(definitions)
    return MemoryFederation(broker, topology, root, keys, signed, trusted)


@dataclass
class BrokenPublisher:
    """A publisher whose broker is gone: every publish fails; `attempts` lists the exchanges."""

    attempts: list[str] = field(default_factory=list)

    async def publish(
        self, exchange: str, routing_key: str, body: bytes, *, message_id: str, **_: Any
    ) -> None:
        self.attempts.append(exchange)
        raise BrokerUnavailable("down")

    async def close(self) -> None:
        pass
