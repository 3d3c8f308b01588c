"""What the tracker missed becomes a `missed` alert, on the in-memory broker.

The rules are those of broker/tracker/gaps.py; the lost queue is filled by hand here (on
RabbitMQ the overflow's drop-head fills it: tests/integration/test_tap_overflow.py).
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.port import Publisher
from broker.testing.memory_broker import Message
from broker.topology.names import ALERTS_QUEUE, TAP_LOST_QUEUE
from broker.tracker.gaps import MAX_BATCH, GapReporter
from schemas.ids import new_message_id
from tests.memory_federation import BrokenPublisher, MemoryFederation, memory_federation
from tests.unit.tracker.test_tap_ingestor import InProcessChecker

A, B = "oscc-north", "social-east"
COORDINATORS = ("police-west", "oscc-north")
WAIT_S = 10.0


class Clock:
    """A clock that a sleep moves on: the reporter's waits take no real time."""

    def __init__(self) -> None:
        self.now = time.time()  # envelopes are checked against it
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def lose(fed: MemoryFederation, body: bytes, *, published_by: str | None = A) -> None:
    """Put `body` in the lost queue, as the overflow's drop-head would (`published_by`, an
    agency, published it; None: without a user_id)."""
    user = fed.topology.agency_user(published_by) if published_by else None
    message = Message("", TAP_LOST_QUEUE, body, new_message_id(), user, None, {})
    fed.broker.publish(user or fed.topology.agency_user(A), "", TAP_LOST_QUEUE, message)


@contextlib.asynccontextmanager
async def reporter(
    fed: MemoryFederation, clock: Clock, *, publisher: Publisher | None = None
) -> AsyncIterator[None]:
    subscription = fed.subscription(TAP_LOST_QUEUE, prefetch=1)
    handler = GapReporter(
        verifier=InProcessChecker(fed),
        publisher=publisher or fed.publisher(fed.topology.tracker_user()),
        coordinators=COORDINATORS,
        topology=fed.topology,
        min_interval_s=60.0,
        clock=clock,
        sleep=clock.sleep,
    )
    consumer = BatchConsumer(subscription, handler, max_batch=MAX_BATCH)
    await subscription.start()
    running = asyncio.create_task(consumer.run())
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await subscription.stop()


@dataclass
class CountingBrokenPublisher(BrokenPublisher):
    """Every publish fails; `third` is set at the third attempt."""

    third: asyncio.Event = field(default_factory=asyncio.Event)

    async def publish(self, exchange: str, routing_key: str, body: bytes, **kwargs: Any) -> None:
        if len(self.attempts) >= 2:
            self.third.set()
        await super().publish(exchange, routing_key, body, **kwargs)


def alerts(fed: MemoryFederation) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]


async def test_a_lost_message_is_alerted_to_every_coordinator_with_its_ids() -> None:
    fed, clock = memory_federation(), Clock()
    message_id = new_message_id()
    lose(fed, fed.seal(A, B, message_id=message_id))
    async with reporter(fed, clock):
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_LOST_QUEUE)
    found = alerts(fed)
    assert sorted(alert["agency"] for alert in found) == sorted(COORDINATORS)
    for alert in found:
        assert (alert["level"], alert["reason"]) == ("missed", "tap_gap")
        assert (alert["message_id"], alert["sender"], alert["recipient"]) == (message_id, A, B)
        assert alert["kind"] == "referral"


async def test_an_unverifiable_lost_message_is_alerted_without_ids() -> None:
    fed, clock = memory_federation(), Clock()
    lose(fed, b"not an envelope")
    async with reporter(fed, clock):
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_LOST_QUEUE)
    found = alerts(fed)
    assert len(found) == len(COORDINATORS)
    assert all("message_id" not in alert and "sender" not in alert for alert in found)


async def test_a_lost_message_without_user_id_or_replayed_by_another_agency_names_nothing() -> None:
    fed, clock = memory_federation(), Clock()
    lose(fed, fed.seal(A, B), published_by=None)
    lose(fed, fed.seal(A, B), published_by="police-west")  # A's signed envelope, replayed
    async with reporter(fed, clock):
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_LOST_QUEUE)
    found = alerts(fed)
    assert len(found) >= len(COORDINATORS)
    assert {(alert["level"], alert["reason"]) for alert in found} == {("missed", "tap_gap")}
    assert all("message_id" not in alert and "sender" not in alert for alert in found)


async def test_alerts_come_at_most_once_per_interval() -> None:
    fed, clock = memory_federation(), Clock()
    lose(fed, fed.seal(A, B))
    async with reporter(fed, clock):
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_LOST_QUEUE)
        lose(fed, fed.seal(A, B))
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_LOST_QUEUE)
    assert len(alerts(fed)) == 2 * len(COORDINATORS)
    assert clock.slept == [60.0]  # the second waited out the interval


async def test_an_alert_that_cannot_be_published_keeps_the_evidence() -> None:
    fed, clock = memory_federation(), Clock()
    lose(fed, fed.seal(A, B))
    broken = CountingBrokenPublisher()
    async with reporter(fed, clock, publisher=broken):
        async with asyncio.timeout(WAIT_S):
            await broken.third.wait()
    # No delivery limit on the lost queue: it is requeued until an alert can go out.
    assert len(fed.broker.messages(TAP_LOST_QUEUE)) == 1
    assert alerts(fed) == []
