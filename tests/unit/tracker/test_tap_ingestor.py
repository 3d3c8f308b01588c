"""The tracker's tap intake on the in-memory broker: stored, refused, requeued, given up on.

The rules are those of broker/tracker/ingest.py. Headers are checked in this process with
the same function the worker processes run (`check_headers`).
"""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.port import Publisher
from broker.topology.names import (
    ALERTS_QUEUE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
)
from broker.tracker.events import TrackedEvent
from broker.tracker.ingest import MAX_BATCH, TapIngestor
from broker.tracker.verifier import HeaderCheck, check_headers
from schemas.ids import new_message_id
from tests.memory_federation import BrokenPublisher, MemoryFederation, memory_federation

A, B = "oscc-north", "social-east"
COORDINATORS = ("police-west", "oscc-north")
WAIT_S = 10.0


@dataclass
class InProcessChecker:
    """check_headers against the federation's directory; can be told the workers are broken."""

    fed: MemoryFederation
    broken: bool = False

    async def check(self, envelopes: Sequence[bytes], now: int) -> list[HeaderCheck]:
        if self.broken:
            raise RuntimeError("the header workers died")
        return check_headers(envelopes, self.fed.trusted, now)

    def close(self) -> None:
        pass


@dataclass
class RecordingStore:
    """The one ledger method the intake uses: events by message id; fails `failures` times."""

    failures: int = 0
    calls: int = 0
    events: dict[str, TrackedEvent] = field(default_factory=dict)

    async def ingest(self, events: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        self.calls += 1
        if self.calls <= self.failures:
            raise OSError("the database went away")
        fresh = [event.message_id not in self.events for event in events]
        self.events.update((event.message_id, event) for event in events)
        return fresh


@contextlib.asynccontextmanager
async def tap(
    fed: MemoryFederation,
    store: RecordingStore,
    *,
    checker: InProcessChecker | None = None,
    publisher: Publisher | None = None,
) -> AsyncIterator[BatchConsumer[TrackedEvent]]:
    """The tracker's intake consuming until the tap holds nothing more, then stopped."""
    subscription = fed.subscription(TAP_QUEUE)
    ingestor = TapIngestor(
        verifier=checker or InProcessChecker(fed),
        ledger=store,  # the intake only calls ingest(); a stand-in will do
        publisher=publisher or fed.publisher(fed.topology.tracker_user()),
        coordinators=COORDINATORS,
        topology=fed.topology,
    )
    intake = BatchConsumer(subscription, ingestor, max_batch=MAX_BATCH)
    await subscription.start()
    running = asyncio.create_task(intake.run())
    try:
        async with asyncio.timeout(WAIT_S):
            await fed.broker.settled(TAP_QUEUE)
        yield intake
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await subscription.stop()


async def send_referral(fed: MemoryFederation, message_id: str | None = None) -> str:
    message_id = message_id or new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    return message_id


def given_up(fed: MemoryFederation) -> list[tuple[str | None, Any]]:
    """What the tap gave up on: its overflow (the tracker retries it there), never the DLQ."""
    assert fed.broker.messages(DEAD_LETTER_QUEUE) == []
    return [
        (m.message_id, m.headers.get("x-first-death-reason"))
        for m in fed.broker.messages(TAP_OVERFLOW_QUEUE)
    ]


def alerts(fed: MemoryFederation) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]


async def test_a_verified_header_is_stored_and_acked() -> None:
    fed, store = memory_federation(), RecordingStore()
    message_id = await send_referral(fed)
    async with tap(fed, store) as intake:
        pass
    event = store.events[message_id]
    assert (event.sender, event.recipient) == (A, B)
    assert intake.committed == 1
    assert given_up(fed) == []
    assert alerts(fed) == []


async def test_a_redelivered_header_is_acked_and_stored_once() -> None:
    fed, store = memory_federation(), RecordingStore()
    message_id = await send_referral(fed)
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    async with tap(fed, store) as intake:
        pass
    assert list(store.events) == [message_id]
    assert intake.committed == 2
    assert given_up(fed) == []


async def test_a_refused_header_is_alerted_to_every_coordinator_and_acked() -> None:
    fed, store = memory_federation(), RecordingStore()
    await fed.send(A, B, b"not an envelope", "refused-1")
    async with tap(fed, store):
        pass
    assert store.events == {}
    assert sorted((a["agency"], a["reason"], a["detail"]) for a in alerts(fed)) == [
        (coordinator, "refused_envelope", "malformed_envelope")
        for coordinator in sorted(COORDINATORS)
    ]
    # The tap's copy is the tracker's alone: B's gateway deals with the message itself.
    assert given_up(fed) == []


async def test_a_refusal_that_cannot_be_alerted_is_requeued_until_the_limit() -> None:
    fed, store = memory_federation(), RecordingStore()
    await fed.send(A, B, b"not an envelope", "refused-2")
    broken = BrokenPublisher()
    async with tap(fed, store, publisher=broken):
        pass
    assert len(broken.attempts) == DELIVERY_LIMIT + 1  # the first coordinator's alert each time
    assert given_up(fed) == [("refused-2", "delivery_limit")]


async def test_a_batch_that_cannot_be_checked_is_requeued_until_the_delivery_limit() -> None:
    fed, store = memory_federation(), RecordingStore()
    message_id = await send_referral(fed)
    async with tap(fed, store, checker=InProcessChecker(fed, broken=True)):
        pass
    assert store.events == {}
    assert given_up(fed) == [(message_id, "delivery_limit")]


async def test_a_store_failure_requeues_and_the_redelivery_is_stored() -> None:
    fed, store = memory_federation(), RecordingStore(failures=1)
    message_id = await send_referral(fed)
    async with tap(fed, store):
        pass
    assert store.calls == 2
    assert message_id in store.events
    assert given_up(fed) == []


async def test_one_refused_header_does_not_sink_the_batch() -> None:
    fed, store = memory_federation(), RecordingStore()
    first = await send_referral(fed)
    await fed.send(A, B, b"not an envelope", "refused-3")
    last = await send_referral(fed)
    async with tap(fed, store) as intake:
        pass
    assert store.calls == 1  # one batch, one transaction
    assert sorted(store.events) == sorted([first, last])
    assert intake.committed == 2
    assert len(alerts(fed)) == len(COORDINATORS)
    assert given_up(fed) == []


async def test_a_delivery_without_user_id_is_refused_before_its_header_is_checked() -> None:
    fed, store = memory_federation(), RecordingStore()
    message_id = new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id, omit_user_id=True)
    broken = InProcessChecker(fed, broken=True)  # would requeue the batch if it were asked
    async with tap(fed, store, checker=broken) as intake:
        pass
    assert store.events == {}
    assert intake.committed == 0
    assert sorted((a["agency"], a["detail"]) for a in alerts(fed)) == [
        (coordinator, "sender_unauthenticated") for coordinator in sorted(COORDINATORS)
    ]
    assert all("sender" not in a and "message_id" not in a for a in alerts(fed))
    assert given_up(fed) == []


async def test_a_header_published_by_another_agency_is_refused_and_alerted() -> None:
    fed, store = memory_federation(), RecordingStore()
    message_id = new_message_id()
    replayed = fed.seal(A, B, message_id=message_id)  # A's signed envelope, replayed
    await fed.send(A, B, replayed, message_id, published_by="police-west")
    async with tap(fed, store):
        pass
    assert store.events == {}
    assert sorted((a["agency"], a["detail"], a["sender"]) for a in alerts(fed)) == [
        (coordinator, "sender_mismatch", A) for coordinator in sorted(COORDINATORS)
    ]
    assert {a["message_id"] for a in alerts(fed)} == {message_id}
