"""The outbox relay publishes each envelope once, pauses on outages and refusals (logging
the first failure, not every attempt), reschedules message failures, counts outcomes."""

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest
from structlog.testing import capture_logs

import broker.gateway.relay as relay_module
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.metrics import GatewayCounts
from broker.gateway.relay import OutboxRelay
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S
from broker.messaging.errors import BrokerUnavailable, PublishRefused, Unroutable
from tests.gateway_records import outgoing


class SlowMarkStore(MemoryGatewayStore):
    """mark_sent takes a while, as a real commit does: the window where duplicates hide."""

    async def mark_sent(self, message_ids: Sequence[str], at: float) -> None:
        await asyncio.sleep(random.uniform(0, 0.005))
        await super().mark_sent(message_ids, at)

    async def due(self, now: float, limit: int) -> list[Any]:
        found = await super().due(now, limit)
        await asyncio.sleep(random.uniform(0, 0.02))  # a slow read: marks commit meanwhile
        return found


class RecordingPublisher:
    """Confirms after a random delay; can be told to fail."""

    def __init__(self) -> None:
        self.published: Counter[str] = Counter()
        self.attempts = 0
        self.down = False
        self.refused = False
        self.unroutable: set[str] = set()

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
        await asyncio.sleep(random.uniform(0, 0.002))
        self.attempts += 1
        if self.down:
            raise BrokerUnavailable("down")
        if self.refused:
            raise PublishRefused(f"message {message_id} refused", code=403)
        if message_id in self.unroutable:
            raise Unroutable("no queue")
        self.published[message_id] += 1


@contextlib.asynccontextmanager
async def relaying(
    store: MemoryGatewayStore, publisher: RecordingPublisher, counts: GatewayCounts | None = None
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(store, publisher, window=16, counts=counts)
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(check: Any, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():  # noqa: ASYNC110 - the store has no change event
            await asyncio.sleep(0.005)


@pytest.mark.parametrize("seed", range(16))
async def test_every_message_is_published_exactly_once(seed: int) -> None:
    random.seed(seed)
    store, publisher = SlowMarkStore(), RecordingPublisher()
    messages = [outgoing(created_at=float(n), next_attempt_at=0.0) for n in range(300)]
    async with relaying(store, publisher) as relay:
        # Offered from memory AND found by the store scans (next_attempt_at is 0): the two
        # ways in race for every message, and still each is published once.
        for chunk in range(0, 300, 30):
            await store.enqueue(messages[chunk : chunk + 30])
            await relay.offer(messages[chunk : chunk + 30])

        async def all_sent() -> bool:
            return (await store.counts())["outbox_pending"] == 0

        await until(all_sent)
    assert set(publisher.published) == {m.message_id for m in messages}
    assert max(publisher.published.values()) == 1


async def test_an_outage_leaves_messages_due_until_the_broker_returns() -> None:
    store, publisher = MemoryGatewayStore(), RecordingPublisher()
    publisher.down = True
    await store.enqueue([outgoing(next_attempt_at=0.0) for _ in range(5)])
    async with relaying(store, publisher) as relay:

        async def tried() -> bool:
            return publisher.attempts >= 1

        await until(tried)
        assert (await store.counts())["outbox_pending"] == 5
        assert relay.failing is not None
        assert relay.failing.reason == "broker_unavailable"
        publisher.down = False

        async def drained() -> bool:
            return (await store.counts())["outbox_pending"] == 0

        await until(drained)
        assert relay.failing is None  # a confirmed publish clears it
    assert sum(publisher.published.values()) == 5


async def test_a_refusal_pauses_the_outbox_and_shows_until_a_publish_is_confirmed() -> None:
    store, publisher, counts = MemoryGatewayStore(), RecordingPublisher(), GatewayCounts()
    publisher.refused = True
    messages = [outgoing(next_attempt_at=0.0) for _ in range(3)]
    await store.enqueue(messages)
    with capture_logs() as lines:
        async with relaying(store, publisher, counts) as relay:

            async def retried() -> bool:
                return publisher.attempts >= 6  # the first pause is over: tried again

            await until(retried)
            failing = relay.failing
            assert failing is not None
            assert (failing.reason, failing.code) == ("publish_refused", 403)
            assert failing.count >= 2
            # The rows stay due: no attempt is spent on them, as for an outage.
            [row, *_] = await store.due(now=float("inf"), limit=10)
            assert row.attempts == 0
            publisher.refused = False

            async def drained() -> bool:
                return (await store.counts())["outbox_pending"] == 0

            await until(drained)
            assert relay.failing is None
    assert (counts.published, counts.publish_failed) == (3, 0)
    assert counts.publish_refused >= 6
    refusals = [line for line in lines if line["reason"] == "publish_refused"]
    # One line for the refusal (ids only), one when it is over; not one per attempt.
    assert [(line["event"], line["log_level"]) for line in refusals] == [
        ("publish refused by the broker; outbox paused", "error"),
        ("outbox publishing: recovered", "info"),
    ]
    assert refusals[0]["code"] == 403
    assert refusals[0]["message_id"] in {m.message_id for m in messages}
    assert set(refusals[0]) <= {
        "event",
        "log_level",
        "reason",
        "code",
        "message_id",
        "attempt",
        "delay_s",
    }


async def test_an_outage_logs_its_first_failure_not_every_attempt() -> None:
    store, publisher = MemoryGatewayStore(), RecordingPublisher()
    publisher.down = True
    await store.enqueue([outgoing(next_attempt_at=0.0)])
    with capture_logs() as lines:
        async with relaying(store, publisher) as relay:

            async def paused_three_times() -> bool:
                failing = relay.failing
                return failing is not None and failing.count >= 3

            await until(paused_three_times)
            publisher.down = False

            async def drained() -> bool:
                return (await store.counts())["outbox_pending"] == 0

            await until(drained)
    assert [line["event"] for line in lines] == [
        "broker unavailable; outbox paused",
        "outbox publishing: recovered",
    ]
    assert lines[1]["count"] >= 3


def test_outage_pauses_are_capped_at_a_few_seconds() -> None:
    now = [1000.0]
    relay = OutboxRelay(MemoryGatewayStore(), RecordingPublisher(), window=4, clock=lambda: now[0])
    message = outgoing()
    pauses = []
    with capture_logs():
        for _ in range(30):  # a long outage: the backoff would have reached minutes
            relay._note_outage(BrokerUnavailable("down"), message)
            pauses.append(relay._paused_until - now[0])
            now[0] = relay._paused_until
    assert max(pauses) <= OUTAGE_MAX_DELAY_S
    assert max(pauses[-10:]) >= OUTAGE_MAX_DELAY_S / 2  # and it did back off


async def test_an_unroutable_message_is_rescheduled_alone() -> None:
    store, publisher = MemoryGatewayStore(), RecordingPublisher()
    stuck, fine = outgoing(next_attempt_at=0.0), outgoing(next_attempt_at=0.0)
    publisher.unroutable.add(stuck.message_id)
    await store.enqueue([stuck, fine])
    async with relaying(store, publisher):

        async def fine_sent() -> bool:
            return publisher.published[fine.message_id] == 1

        await until(fine_sent)

        async def rescheduled() -> bool:
            return (await store.due(now=float("inf"), limit=10))[0].attempts >= 1

        await until(rescheduled)
    [still_due] = await store.due(now=float("inf"), limit=10)
    assert still_due.message_id == stuck.message_id
    assert still_due.attempts >= 1
    assert still_due.next_attempt_at > 0


@pytest.fixture(autouse=True)
def _seeded_and_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    random.seed(7)
    monkeypatch.setattr(relay_module, "SCAN_INTERVAL_S", 0.01)


async def test_an_unroutable_message_shows_as_failing_until_a_publish_is_confirmed() -> None:
    store, publisher = MemoryGatewayStore(), RecordingPublisher()
    stuck = outgoing(next_attempt_at=0.0)
    publisher.unroutable.add(stuck.message_id)
    await store.enqueue([stuck])
    async with relaying(store, publisher) as relay:

        async def failing() -> bool:
            return relay.failing is not None

        await until(failing)
        assert relay.failing is not None
        assert relay.failing.reason == "unroutable"
        fine = outgoing(next_attempt_at=0.0)
        await store.enqueue([fine])
        await relay.offer([fine])

        async def cleared() -> bool:
            return relay.failing is None

        await until(cleared)
