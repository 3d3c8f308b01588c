"""The gateway's inbox on the in-memory broker: what is stored, acked, requeued, dead-lettered.

The rules are those of broker/gateway/consumer.py; the broker's side of them (delivery
limit, dead-lettering) is the in-memory broker's, proven like RabbitMQ's by tests/contract.
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import OutboxMessage, Received
from broker.gateway.relay import OutboxRelay
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.port import Publisher
from broker.topology.names import (
    ALERTS_QUEUE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
)
from schemas.acknowledgement import Acknowledgement
from schemas.ids import new_message_id
from tests.memory_federation import BrokenPublisher, MemoryFederation, memory_federation

A, B = "oscc-north", "social-east"
WAIT_S = 10.0


@dataclass(frozen=True)
class PoisonedSealer(Sealer):
    """Fails, as a bug would, to seal the `received` answer to one message id."""

    poisoned: str = ""

    def outbox_entry(self, body: BaseModel, **kwargs: Any) -> OutboxMessage:
        if isinstance(body, Acknowledgement) and body.answers == self.poisoned:
            raise RuntimeError("a bug")
        return super().outbox_entry(body, **kwargs)


class FailingStore(MemoryGatewayStore):
    """store_received raises for the first `failures` calls, and for any batch with `bad`."""

    def __init__(self, *, failures: int = 0, bad: str | None = None) -> None:
        super().__init__()
        self.failures, self.bad, self.calls = failures, bad, 0

    async def store_received(self, batch: Sequence[Received]) -> list[bool]:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("the database went away")
        if any(item.message.message_id == self.bad for item in batch):
            raise ValueError("a bad entry")
        return await super().store_received(batch)


@contextlib.asynccontextmanager
async def inbox_of_b(
    fed: MemoryFederation,
    store: GatewayStore,
    *,
    sealer: Sealer | None = None,
    publisher: Publisher | None = None,
) -> AsyncIterator[None]:
    """B's inbox consuming until B's queue holds nothing more, then stopped."""
    subscription = fed.subscription(fed.topology.agency_queue(B))
    publisher = publisher or fed.agency_publisher(B)
    inbox = InboxConsumer(
        sealer=sealer or Sealer(keys=fed.keys[B], directory=fed.trusted),
        topology=fed.topology,
        store=store,
        publisher=publisher,
        relay=OutboxRelay(store, publisher, window=8),  # offered to, never run
    )
    consumer = BatchConsumer(subscription, inbox, max_batch=MAX_BATCH)
    await subscription.start()
    running = asyncio.create_task(consumer.run())
    try:
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(fed.topology.agency_queue(B))
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await subscription.stop()


async def send_referral(fed: MemoryFederation, message_id: str | None = None) -> str:
    message_id = message_id or new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    return message_id


def dead_letters(fed: MemoryFederation) -> list[tuple[str | None, Mapping[str, Any]]]:
    return [(m.message_id, m.headers) for m in fed.broker.messages(DEAD_LETTER_QUEUE)]


async def test_a_referral_is_stored_with_its_received_answer_and_acked() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = await send_referral(fed)
    async with inbox_of_b(fed, store):
        pass
    assert await store.inbox_message(message_id) is not None
    [answer] = await store.due(float("inf"), 10)
    assert answer.recipient == A
    assert dead_letters(fed) == []


async def test_a_duplicate_is_acked_and_stored_once() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = await send_referral(fed)
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    async with inbox_of_b(fed, store):
        pass
    assert await store.inbox_message(message_id) is not None
    assert len(await store.due(float("inf"), 10)) == 1  # one `received` answer
    assert dead_letters(fed) == []


async def test_a_refused_envelope_is_alerted_then_dead_lettered_by_its_queue() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    await fed.send(A, B, b"not an envelope", "refused-1")
    async with inbox_of_b(fed, store):
        pass
    [dead] = fed.broker.messages(DEAD_LETTER_QUEUE)
    # Rejected, not republished: the broker's own x-death says where and why, the original
    # publisher's user_id is kept, and the gateway added nothing of its own.
    assert dead.headers["x-death"][0]["queue"] == fed.topology.agency_queue(B)
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    assert dead.user_id == fed.topology.agency_user(A)
    assert set(dead.headers) == {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
    }
    [alert] = [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]
    assert (alert["reason"], alert["agency"], alert["detail"]) == (
        "refused_envelope",
        B,
        "malformed_envelope",
    )
    assert await store.due(float("inf"), 10) == []


async def test_a_refused_envelope_s_alert_carries_its_message_id() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = new_message_id()
    sealed_for_c = fed.seal(A, "police-west", message_id=message_id)  # not B's to open
    await fed.send(A, B, sealed_for_c, message_id)
    async with inbox_of_b(fed, store):
        pass
    [alert] = [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]
    assert (alert["detail"], alert["message_id"], alert["sender"]) == (
        "not_for_recipient",
        message_id,
        A,
    )
    [(_, headers)] = dead_letters(fed)
    assert headers["x-death"][0]["reason"] == "rejected"


async def test_a_refusal_that_cannot_be_forwarded_is_requeued_until_the_limit() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    await fed.send(A, B, b"not an envelope", "refused-2")
    broken = BrokenPublisher()
    async with inbox_of_b(fed, store, publisher=broken):
        pass
    # The alert was tried once per delivery; after the last, the delivery limit took it.
    assert len(broken.attempts) == DELIVERY_LIMIT + 1
    [(message_id, headers)] = dead_letters(fed)
    assert (message_id, headers["x-first-death-reason"]) == ("refused-2", "delivery_limit")


async def test_a_poison_message_is_requeued_until_the_delivery_limit_dead_letters_it() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    poisoned = await send_referral(fed)
    healthy = await send_referral(fed)
    sealer = PoisonedSealer(keys=fed.keys[B], directory=fed.trusted, poisoned=poisoned)
    async with inbox_of_b(fed, store, sealer=sealer):
        pass
    [(message_id, headers)] = dead_letters(fed)
    assert (message_id, headers["x-first-death-reason"]) == (poisoned, "delivery_limit")
    assert await store.inbox_message(poisoned) is None
    assert await store.inbox_message(healthy) is not None


async def test_a_store_failure_requeues_and_the_redelivery_is_stored() -> None:
    fed = memory_federation()
    store = FailingStore(failures=2)  # the batch, then the retry of its one entry
    message_id = await send_referral(fed)
    async with inbox_of_b(fed, store):
        pass
    assert store.calls == 3
    assert await store.inbox_message(message_id) is not None
    assert dead_letters(fed) == []


async def test_one_bad_entry_does_not_sink_the_batch() -> None:
    fed = memory_federation()
    first, bad, last = [await send_referral(fed) for _ in range(3)]
    store = FailingStore(bad=bad)
    async with inbox_of_b(fed, store):
        pass
    assert await store.inbox_message(first) is not None
    assert await store.inbox_message(last) is not None
    assert await store.inbox_message(bad) is None
    [(message_id, headers)] = dead_letters(fed)
    assert (message_id, headers["x-first-death-reason"]) == (bad, "delivery_limit")


async def test_a_delivery_without_user_id_is_refused_unopened_dead_lettered_and_alerted() -> None:
    # RabbitMQ checks a user_id only when it is there: without one, anyone could have
    # published this (valid, signed) referral, so it is refused before it is opened.
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id, omit_user_id=True)
    async with inbox_of_b(fed, store):
        pass
    assert await store.inbox_message(message_id) is None
    assert await store.due(float("inf"), 10) == []  # no `received` answer either
    # Rejected: RabbitMQ's own dead-lettering moved it, from B's queue, still without user_id.
    [dead] = fed.broker.messages(DEAD_LETTER_QUEUE)
    assert (dead.message_id, dead.user_id) == (message_id, None)
    assert dead.headers["x-death"][0]["queue"] == fed.topology.agency_queue(B)
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    [alert] = [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]
    assert (alert["agency"], alert["detail"]) == (B, "sender_unauthenticated")
    assert {"sender", "message_id"}.isdisjoint(alert)  # nothing was opened


async def test_an_envelope_replayed_by_another_agency_is_refused_as_a_sender_mismatch() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = new_message_id()
    replayed = fed.seal(A, B, message_id=message_id)
    await fed.send(A, B, replayed, message_id, published_by="police-west")
    async with inbox_of_b(fed, store):
        pass
    assert await store.inbox_message(message_id) is None
    [dead] = fed.broker.messages(DEAD_LETTER_QUEUE)
    assert dead.headers["x-death"][0]["reason"] == "rejected"
    assert dead.user_id == fed.topology.agency_user("police-west")  # kept as published
    [alert] = [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]
    assert (alert["agency"], alert["detail"]) == (B, "sender_mismatch")
