"""Arrival events: one per referral or transfer first stored, after the commit, ids only; a
broker that fails them never holds up the inbox, and they are retried until it takes them."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from broker.gateway.arrivals import ArrivalAnnouncer, arrival_of
from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.metrics import GatewayCounts
from broker.gateway.outgoing import Sealer
from broker.gateway.records import InboxMessage
from broker.gateway.relay import OutboxRelay
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.errors import BrokerUnavailable, PublishRefused
from broker.topology.names import ARRIVALS_EXCHANGE, NOTIFIER_ARRIVALS_QUEUE
from schemas.arrival import Arrival
from schemas.ids import new_message_id, new_thread_id
from tests.memory_federation import MemoryFederation, memory_federation
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
WAIT_S = 10.0


@contextlib.asynccontextmanager
async def inbox_of_b(fed: MemoryFederation, store: MemoryGatewayStore) -> AsyncIterator[None]:
    subscription = fed.subscription(fed.topology.agency_queue(B))
    publisher = fed.agency_publisher(B)
    announcer = ArrivalAnnouncer(publisher)
    inbox = InboxConsumer(
        sealer=Sealer(keys=fed.keys[B], directory=fed.trusted),
        topology=fed.topology,
        store=store,
        publisher=publisher,
        relay=OutboxRelay(store, publisher, window=8),  # offered to, never run
        arrivals=announcer,
    )
    consumer = BatchConsumer(subscription, inbox, max_batch=MAX_BATCH)
    await subscription.start()
    tasks = [asyncio.create_task(consumer.run()), asyncio.create_task(announcer.run())]
    try:
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(fed.topology.agency_queue(B))
        await eventually(lambda: _is(announcer.pending == 0), "the events published")
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await subscription.stop()


async def test_a_stored_referral_is_announced_once_with_ids_only() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    message_id = new_message_id()
    envelope = fed.seal(A, B, message_id=message_id)
    await fed.send(A, B, envelope, message_id)
    await fed.send(A, B, envelope, message_id)  # a redelivery: stored once, announced once
    async with inbox_of_b(fed, store):
        pass
    [event] = fed.broker.messages(NOTIFIER_ARRIVALS_QUEUE)
    assert event.message_id == message_id
    assert event.user_id == fed.topology.agency_user(B)
    assert event.routing_key == f"arrival.referral.{B}"
    body = json.loads(event.body)
    stored = await store.inbox_message(message_id)
    assert stored is not None
    assert body == {
        "message_id": message_id,
        "thread_id": stored.thread_id,
        "kind": "referral",
        "urgency": stored.urgency,
        "sender": A,
        "recipient": B,
        "arrived_at": int(stored.received_at),
    }


def entry(kind: str, **extra: Any) -> InboxMessage:
    fields: dict[str, Any] = {
        "message_id": new_message_id(),
        "thread_id": new_thread_id(),
        "kind": kind,
        "sender": A,
        "envelope": b"sealed",
        "header_json": "{}",
        "received_at": 1_700_000_000.5,
        "urgency": "emergency" if kind == "referral" else None,
    }
    return InboxMessage(**(fields | extra))


def test_only_referrals_and_transfers_are_announced() -> None:
    assert arrival_of(entry("acknowledgement"), B) is None
    assert arrival_of(entry("consent"), B) is None
    referral = arrival_of(entry("referral"), B)
    assert referral is not None
    assert (referral.kind, referral.urgency, referral.arrived_at) == (
        "referral",
        "emergency",
        1_700_000_000,
    )
    transfer = arrival_of(entry("transfer"), B)
    assert transfer is not None
    assert transfer.urgency is None


class FlakyPublisher:
    """Fails while `failing` names an error; records what it published."""

    def __init__(self) -> None:
        self.failing: Exception | None = None
        self.published: list[tuple[str, str, str]] = []
        self.attempts = 0

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        message_id: str,
        headers: Mapping[str, Any] | None = None,
        content_type: str = "",
    ) -> None:
        self.attempts += 1
        await asyncio.sleep(0)
        if self.failing is not None:
            raise self.failing
        self.published.append((exchange, routing_key, message_id))

    async def close(self) -> None:
        pass


def events(count: int) -> list[Arrival]:
    found = [arrival_of(entry("referral"), B) for _ in range(count)]
    return [event for event in found if event is not None]


async def test_an_outage_delays_events_and_offering_never_waits() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    announcer = ArrivalAnnouncer(publisher, counts=counts, sleep=sleep)
    publisher.failing = BrokerUnavailable("down")
    running = asyncio.create_task(announcer.run())
    offered = events(5)
    announcer.offer(offered)  # synchronous: the inbox's ack never waits on the broker
    await eventually(lambda: _is(publisher.attempts >= 15), "retries through the outage")
    assert publisher.published == []
    publisher.failing = None
    await eventually(lambda: _is(len(publisher.published) >= 5), "every event once it is back")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert [m for _, _, m in publisher.published] == [event.message_id for event in offered]
    assert {(e, k) for e, k, _ in publisher.published} == {
        (ARRIVALS_EXCHANGE, f"arrival.referral.{B}")
    }
    assert counts.arrivals_announced == 5
    assert counts.arrivals_dropped == 0
    assert len(sleeps) >= 3
    assert max(sleeps) <= 5.0  # an outage retries within seconds


async def test_a_refusal_backs_off_longer_and_a_full_buffer_drops_the_oldest() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    sleeps: list[float] = []
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await release.wait()

    announcer = ArrivalAnnouncer(publisher, counts=counts, max_pending=3, sleep=sleep)
    publisher.failing = PublishRefused("no such exchange", code=404)
    running = asyncio.create_task(announcer.run())
    offered = events(2)
    announcer.offer(offered)
    await eventually(lambda: _is(bool(sleeps)), "a back-off after the refusal")
    later = events(3)
    announcer.offer(later)  # 5 waiting for 3 places: the two oldest go
    assert announcer.pending == 3
    assert counts.arrivals_dropped == 2
    publisher.failing = None
    release.set()
    await eventually(lambda: _is(len(publisher.published) >= 3), "the events kept, published")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert [m for _, _, m in publisher.published] == [event.message_id for event in later]


async def test_what_waits_at_stop_is_counted_as_dropped() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    publisher.failing = BrokerUnavailable("down")
    announcer = ArrivalAnnouncer(publisher, counts=counts)
    running = asyncio.create_task(announcer.run())
    announcer.offer(events(2))
    await eventually(lambda: _is(publisher.attempts >= 2), "the first attempts")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert counts.arrivals_dropped == 2
    assert announcer.pending == 0


async def _is(value: bool) -> bool:
    return value
