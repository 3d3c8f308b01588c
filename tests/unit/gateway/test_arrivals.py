"""Arrival events: one per referral or transfer first stored, after the commit, ids only,
published in batches (one message per kind of what waits, at most MAX_ARRIVALS each); a
broker that fails them never holds up the inbox, and they are retried until it takes them."""

import asyncio
import contextlib
import functools
import json
from collections.abc import AsyncIterator, Mapping, MutableMapping
from typing import Any

from structlog.testing import capture_logs

from broker.gateway.arrivals import REFUSED_DELAY_S, ArrivalAnnouncer, arrival_of
from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.metrics import GatewayCounts
from broker.gateway.outgoing import Sealer
from broker.gateway.records import InboxMessage
from broker.gateway.relay import OutboxRelay
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.errors import BrokerUnavailable, PublishRefused
from broker.topology.names import ARRIVALS_EXCHANGE, NOTIFIER_ARRIVALS_QUEUE
from schemas.arrival import MAX_ARRIVALS, Arrival, Arrivals
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
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
    assert event.message_id not in (None, message_id)  # the batch's own id
    assert event.user_id == fed.topology.agency_user(B)
    assert event.routing_key == f"arrival.referral.{B}"
    body = json.loads(event.body)
    stored = await store.inbox_message(message_id)
    assert stored is not None
    assert body == {
        "arrivals": [
            {
                "message_id": message_id,
                "thread_id": stored.thread_id,
                "kind": "referral",
                "urgency": stored.urgency,
                "sender": A,
                "recipient": B,
                "arrived_at": int(stored.received_at),
            }
        ]
    }
    Arrivals.model_validate_json(event.body)  # what the notifier reads


async def test_messages_stored_together_are_announced_in_one_batch_per_kind() -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    referrals = [new_message_id() for _ in range(3)]
    transfers = [new_message_id() for _ in range(2)]
    for message_id in referrals:
        await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    for message_id in transfers:
        envelope = fed.seal(A, B, kind=MessageKind.TRANSFER, message_id=message_id)
        await fed.send(A, B, envelope, message_id)
    async with inbox_of_b(fed, store):
        pass
    announced: dict[str, list[str]] = {}
    for event in fed.broker.messages(NOTIFIER_ARRIVALS_QUEUE):
        batch = Arrivals.model_validate_json(event.body)
        kinds = {arrival.kind for arrival in batch.arrivals}
        assert len(kinds) == 1, "one kind per batch"
        assert event.routing_key == f"arrival.{kinds.pop()}.{B}"
        for arrival in batch.arrivals:
            announced.setdefault(arrival.kind, []).append(arrival.message_id)
    assert announced == {"referral": referrals, "transfer": transfers}


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
    """Fails while `failing` names an error (or `failing_key` its routing key); records what
    it published: exchange, routing key and the message ids of the batch."""

    def __init__(self) -> None:
        self.failing: Exception | None = None
        self.failing_key: str | None = None
        self.published: list[tuple[str, str, list[str]]] = []
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
        if routing_key == self.failing_key:
            raise BrokerUnavailable("down")
        batch = Arrivals.model_validate_json(body)
        self.published.append(
            (exchange, routing_key, [arrival.message_id for arrival in batch.arrivals])
        )

    def message_ids(self) -> list[str]:
        return [message_id for _, _, batch in self.published for message_id in batch]

    async def close(self) -> None:
        pass


def events(count: int, kind: str = "referral") -> list[Arrival]:
    found = [arrival_of(entry(kind), B) for _ in range(count)]
    return [event for event in found if event is not None]


def ids(arrivals: list[Arrival]) -> list[str]:
    return [arrival.message_id for arrival in arrivals]


async def stopped(running: "asyncio.Task[None]") -> None:
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def test_what_waits_of_two_kinds_goes_in_two_publishes() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    announcer = ArrivalAnnouncer(publisher, counts=counts)
    referrals, transfers = events(3), events(2, "transfer")
    mixed = [referrals[0], transfers[0], referrals[1], referrals[2], transfers[1]]
    announcer.offer(mixed)  # all waiting when the announcer first looks
    running = asyncio.create_task(announcer.run())
    await eventually(lambda: _is(counts.arrivals_announced == 5), "the events published")
    await stopped(running)
    assert sorted(publisher.published) == sorted(
        [
            (ARRIVALS_EXCHANGE, f"arrival.referral.{B}", ids(referrals)),
            (ARRIVALS_EXCHANGE, f"arrival.transfer.{B}", ids(transfers)),
        ]
    )
    assert publisher.attempts == 2


async def test_a_lone_event_goes_at_once_in_a_batch_of_one() -> None:
    publisher = FlakyPublisher()
    announcer = ArrivalAnnouncer(publisher)
    running = asyncio.create_task(announcer.run())
    offered = events(3)

    async def published(count: int) -> bool:
        return len(publisher.published) == count

    for count, event in enumerate(offered, start=1):
        announcer.offer([event])
        # No timer: each is published before the next is offered.
        await eventually(functools.partial(published, count), "the event published")
    await stopped(running)
    assert [len(batch) for _, _, batch in publisher.published] == [1, 1, 1]
    assert publisher.message_ids() == ids(offered)


async def test_a_batch_is_capped() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    announcer = ArrivalAnnouncer(publisher, counts=counts)
    offered = events(MAX_ARRIVALS * 2 + 10)
    announcer.offer(offered)
    running = asyncio.create_task(announcer.run())
    await eventually(lambda: _is(counts.arrivals_announced == len(offered)), "all published")
    await stopped(running)
    assert [len(batch) for _, _, batch in publisher.published] == [MAX_ARRIVALS, MAX_ARRIVALS, 10]
    assert publisher.message_ids() == ids(offered)
    small = FlakyPublisher()
    capped = ArrivalAnnouncer(small, max_batch=2)
    capped.offer(events(5))
    running = asyncio.create_task(capped.run())
    await eventually(lambda: _is(capped.pending == 0 and len(small.published) == 3), "published")
    await stopped(running)
    assert [len(batch) for _, _, batch in small.published] == [2, 2, 1]


async def test_a_failed_kind_is_retried_alone_and_the_other_is_not_sent_twice() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    announcer = ArrivalAnnouncer(publisher, counts=counts, sleep=sleep)
    publisher.failing_key = f"arrival.transfer.{B}"
    referrals, transfers = events(2), events(2, "transfer")
    announcer.offer(referrals + transfers)
    running = asyncio.create_task(announcer.run())
    await eventually(lambda: _is(len(sleeps) >= 3), "the transfers retried")
    assert publisher.message_ids() == ids(referrals)
    publisher.failing_key = None
    await eventually(lambda: _is(counts.arrivals_announced == 4), "the transfers published")
    await stopped(running)
    assert publisher.published == [
        (ARRIVALS_EXCHANGE, f"arrival.referral.{B}", ids(referrals)),
        (ARRIVALS_EXCHANGE, f"arrival.transfer.{B}", ids(transfers)),
    ]
    assert counts.arrivals_dropped == 0


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
    await eventually(lambda: _is(counts.arrivals_announced >= 5), "every event once it is back")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert publisher.message_ids() == ids(offered)
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
    # The whole refusal delay from the first: each refusal drops the relay's connection.
    assert sleeps == [REFUSED_DELAY_S]
    later = events(3)
    announcer.offer(later)  # 5 waiting for 3 places: the two oldest go
    assert announcer.pending == 3
    assert counts.arrivals_dropped == 2
    publisher.failing = None
    release.set()
    await eventually(lambda: _is(len(publisher.message_ids()) >= 3), "the events kept, published")
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert publisher.message_ids() == ids(later)


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


def dropped_lines(lines: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [line for line in lines if "dropped" in line["event"]]


async def test_an_overflow_is_logged_once_with_a_count_not_per_event() -> None:
    counts = GatewayCounts()
    announcer = ArrivalAnnouncer(FlakyPublisher(), counts=counts, max_pending=3)
    with capture_logs() as lines:
        announcer.offer(events(10))
        announcer.offer(events(5))
    assert counts.arrivals_dropped == 12
    assert announcer.pending == 3
    [line] = dropped_lines(lines)
    assert line == {
        "event": "arrival events dropped: too many wait",
        "log_level": "warning",
        "reason": "too_many_waiting",
        "count": 7,
    }
    assert announcer._dropping.current is not None
    assert announcer._dropping.current.count == 12


async def test_events_put_back_over_a_full_buffer_are_dropped_and_logged_alike() -> None:
    publisher, counts = FlakyPublisher(), GatewayCounts()
    publisher.failing = BrokerUnavailable("down")
    release = asyncio.Event()

    async def sleep(_seconds: float) -> None:
        await release.wait()

    announcer = ArrivalAnnouncer(publisher, counts=counts, max_pending=3, sleep=sleep)
    first, later = events(3), events(2)
    with capture_logs() as lines:
        announcer.offer(first)
        running = asyncio.create_task(announcer.run())
        await asyncio.sleep(0)  # the three taken, their publish under way
        announcer.offer(later)  # room for these: the three are out of the buffer
        assert counts.arrivals_dropped == 0
        await eventually(lambda: _is(counts.arrivals_dropped == 2), "the oldest dropped")
    # Put back in front of the two offered meanwhile: the oldest two of them go.
    assert announcer.pending == 3
    assert len(dropped_lines(lines)) == 1
    publisher.failing = None
    release.set()
    await eventually(lambda: _is(counts.arrivals_announced == 3), "the rest published")
    await stopped(running)
    assert publisher.message_ids() == ids(first[2:] + later)


class HalfHangingPublisher(FlakyPublisher):
    """Confirms referrals; a transfer's confirm never comes."""

    async def publish(self, exchange: str, routing_key: str, body: bytes, **kwargs: Any) -> None:
        if routing_key == f"arrival.transfer.{B}":
            await asyncio.Event().wait()
        await super().publish(exchange, routing_key, body, **kwargs)


async def test_a_stop_mid_publish_counts_only_the_unconfirmed_as_dropped() -> None:
    publisher, counts = HalfHangingPublisher(), GatewayCounts()
    announcer = ArrivalAnnouncer(publisher, counts=counts)
    announcer.offer(events(3) + events(2, "transfer"))
    running = asyncio.create_task(announcer.run())
    await eventually(lambda: _is(counts.arrivals_announced == 3), "the referrals confirmed")
    await stopped(running)
    assert counts.arrivals_dropped == 2  # the transfers only


def test_an_event_is_built_whatever_the_store_holds_and_only_a_referral_has_an_urgency() -> None:
    with capture_logs() as lines:
        odd = arrival_of(entry("referral", urgency="catastrophic"), B)  # a later version's
    assert odd is not None
    assert odd.urgency is None
    assert [line["event"] for line in lines] == ["arrival event without its urgency: unknown"]
    # A transfer's event has no urgency, whatever the entry holds.
    transfer = arrival_of(entry("transfer", urgency="emergency"), B)
    assert transfer is not None
    assert transfer.urgency is None
    # And offering never raises however the events come.
    announcer = ArrivalAnnouncer(FlakyPublisher())
    stored = [entry("referral", urgency="catastrophic"), entry("transfer", urgency="high")]
    announcer.offer(event for event in (arrival_of(item, B) for item in stored) if event)
    assert announcer.pending == 2
