"""The batch consumer's pipeline on the in-memory broker: overlap, order, safe acks."""

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from broker.messaging.batch_consumer import BatchConsumer, Triage, Verdict
from broker.messaging.port import Delivery
from broker.testing import InMemoryBroker, InMemoryPublisher, InMemorySubscription
from broker.testing.memory_broker import Message

QUEUE = "work"
WAIT_S = 5.0


@dataclass
class GatedHandler:
    """Commits wait for `gate`; a body b"now" is acked at triage, the rest at commit."""

    gate: asyncio.Event = field(default_factory=asyncio.Event)
    log: list[str] = field(default_factory=list)
    committing: asyncio.Event = field(default_factory=asyncio.Event)
    triaged: asyncio.Event = field(default_factory=asyncio.Event)

    async def triage(self, batch: Sequence[Delivery]) -> Triage[str]:
        triage: Triage[str] = Triage()
        for delivery in batch:
            self.log.append(f"triage {delivery.message_id}")
            if delivery.body == b"now":
                triage.settled.append((delivery, Verdict.ACK))
            else:
                triage.to_commit.append((delivery, delivery.message_id or ""))
        self.triaged.set()
        return triage

    async def commit(self, work: Sequence[tuple[Delivery, str]]) -> list[Verdict]:
        names = " ".join(name for _, name in work)
        self.log.append(f"commit {names}")
        self.committing.set()
        await self.gate.wait()
        self.log.append(f"committed {names}")
        return [Verdict.ACK] * len(work)


def work_broker() -> InMemoryBroker:
    broker = InMemoryBroker()
    broker.add_user("producer")
    broker.declare_queue(QUEUE)
    return broker


async def put(broker: InMemoryBroker, message_id: str, body: bytes = b"later") -> None:
    publisher = InMemoryPublisher(broker, user="producer")
    await publisher.publish("", QUEUE, body, message_id=message_id)


def put_together(broker: InMemoryBroker, *messages: tuple[str, bytes]) -> None:
    """Publish without yielding to the consumer: they arrive as one batch."""
    for message_id, body in messages:
        message = Message("", QUEUE, body, message_id, "producer", None, {})
        broker.publish("producer", "", QUEUE, message)


async def test_the_next_batch_is_triaged_while_the_last_commits_and_commits_keep_order() -> None:
    broker, handler = work_broker(), GatedHandler()
    subscription = InMemorySubscription(broker, QUEUE, prefetch=16)
    consumer = BatchConsumer(subscription, handler, max_batch=16)
    await subscription.start()
    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(WAIT_S):
            await put(broker, "m1")
            await handler.committing.wait()
            handler.triaged.clear()
            # m2 is acked at triage, while m1's commit is pending.
            put_together(broker, ("m2", b"now"), ("m3", b"later"))
            await handler.triaged.wait()
            assert handler.log[-2:] == ["triage m2", "triage m3"]
            # m2's ack did not cover m1 (still being committed), nor m3. The ack may suspend,
            # so wait for it rather than assume it ran within the triage.
            [session] = broker.queues[QUEUE].consumers
            while len(session.unsettled) > 2:
                await broker.changed()
            assert [m.message_id for m in session.unsettled.values()] == ["m1", "m3"]
            assert "commit m3" not in handler.log
            handler.gate.set()
            await broker.settled(QUEUE)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await subscription.stop()
    assert handler.log.index("committed m1") < handler.log.index("commit m3")
    assert consumer.committed == 2  # m1 and m3; m2 was settled at triage
