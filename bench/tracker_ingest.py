"""Tracker intake rate against a raw aio-pika consumer of the same tap queue, in one run.

The tap is filled with sealed envelopes (referrals and their `received` acknowledgements,
one thread per referral; for the tracker, published by the agencies' own users as their
gateways would, since the tracker refuses what its signed sender did not publish), then
drained, alternating: (a) a raw aio-pika consumer with
manual acks and the same prefetch; (b) the tracker's intake: every header verified against
the directory, events stored and threads refolded in batches (SQLite), then acked. Prints
each rate, the ratio of the best rounds and, last, `tracker_ingest_ratio <value>`: the
median over rounds of tracker events/s divided by raw messages/s of the same round.
Needs RabbitMQ on 127.0.0.1; uses its own vhost, deleted at the end.

Run: .venv/bin/python bench/tracker_ingest.py [--rounds N] [--events N] [--raw N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import aio_pika

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription
from broker.app.garbage_collector import settle_startup_objects
from broker.envelope import seal
from broker.messaging.batch_consumer import BatchConsumer
from broker.store.tracker_store import SqlTrackerStore
from broker.topology.names import MESSAGES_EXCHANGE, TAP_QUEUE, routing_key
from broker.tracker.ingest import MAX_BATCH, TapIngestor
from broker.tracker.ledger import TrackerLedger
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.verifier import HeaderVerifier
from schemas.acknowledgement import Acknowledgement
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import AckStatus, MessageKind
from tests.integration.gateway_harness import KeyedFederation, keyed_federation

PREFETCH = 2048  # the tracker's default prefetch, for both consumers
WINDOW = 256


A, B = "oscc-north", "social-east"
# Each envelope's sender and routing key: a referral A->B, then B's acknowledgement to A.
ROUTES = (
    (A, routing_key(MessageKind.REFERRAL, A, B)),
    (B, routing_key(MessageKind.ACKNOWLEDGEMENT, B, A)),
)


def sealed_events(keyed: KeyedFederation, count: int) -> list[bytes]:
    """`count` envelopes: referrals A->B and B's `received` acknowledgements, paired."""
    now = int(time.time())
    referral = example_body(MessageKind.REFERRAL)
    envelopes: list[bytes] = []
    while len(envelopes) < count:
        thread, message_id = new_thread_id(), new_message_id()
        envelopes.append(
            seal(
                referral,
                kind=MessageKind.REFERRAL,
                sender=keyed.keys[A],
                recipient=B,
                directory=keyed.trusted,
                now=now,
                thread_id=thread,
                message_id=message_id,
            )
        )
        ack = Acknowledgement(status=AckStatus.RECEIVED, answers=message_id)
        envelopes.append(
            seal(
                ack,
                kind=MessageKind.ACKNOWLEDGEMENT,
                sender=keyed.keys[B],
                recipient=A,
                directory=keyed.trusted,
                now=now,
                thread_id=thread,
            )
        )
    return envelopes[:count]


async def fill_tap(url: str, envelopes: list[bytes]) -> None:
    publisher = ConfirmedPublisher(url, user_id="guest")
    window = asyncio.Semaphore(WINDOW)

    async def one(body: bytes) -> None:
        async with window:
            await publisher.publish("", TAP_QUEUE, body, message_id=new_message_id())

    await asyncio.gather(*(one(body) for body in envelopes))
    await publisher.close()


async def fill_tap_as_agencies(keyed: KeyedFederation, envelopes: list[bytes]) -> None:
    """Publish `sealed_events` as A's and B's users would; then empty their own queues."""
    federation = keyed.federation
    publishers = {
        agency: ConfirmedPublisher(federation.url(agency), user_id=federation.user(agency))
        for agency, _ in ROUTES
    }
    window = asyncio.Semaphore(WINDOW)

    async def one(index: int, body: bytes) -> None:
        sender, key = ROUTES[index % 2]
        async with window:
            await publishers[sender].publish(
                MESSAGES_EXCHANGE, key, body, message_id=new_message_id()
            )

    await asyncio.gather(*(one(index, body) for index, body in enumerate(envelopes)))
    for publisher in publishers.values():
        await publisher.close()
    # The agencies' queues got copies too; no gateway reads them here.
    async with await aio_pika.connect(federation.admin_url()) as connection:
        channel = await connection.channel()
        for agency, _ in ROUTES:
            queue = await channel.get_queue(federation.topology.agency_queue(agency), ensure=False)
            await queue.purge()


async def raw_rate(url: str, count: int) -> float:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=PREFETCH)
        queue = await channel.get_queue(TAP_QUEUE, ensure=False)
        done, seen = asyncio.Event(), 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            await message.ack()
            seen += 1
            if seen == count:
                done.set()

        started = time.perf_counter()
        tag = await queue.consume(on_message)
        await asyncio.wait_for(done.wait(), 600)
        elapsed = time.perf_counter() - started
        await queue.cancel(tag)
    return count / elapsed


async def tracker_rate(
    keyed: KeyedFederation, store: SqlTrackerStore, verifier: HeaderVerifier, count: int
) -> float:
    """Events per second through the tracker's intake loop, as `caselink tracker` runs it."""
    url = keyed.federation.admin_url()
    subscription = QueueSubscription(url, TAP_QUEUE, prefetch=PREFETCH)
    publisher = ConfirmedPublisher(url, user_id="guest")
    ingestor = TapIngestor(
        verifier=verifier,
        ledger=TrackerLedger(store, DEFAULT_POLICY, ["police-west"]),
        publisher=publisher,
        coordinators=["police-west"],
        topology=keyed.federation.topology,
    )
    intake = BatchConsumer(subscription, ingestor, max_batch=MAX_BATCH)
    before = (await store.metrics(int(time.time())))["open_threads"]
    await subscription.start()
    started = time.perf_counter()
    running = asyncio.create_task(intake.run())
    deadline = time.monotonic() + 600
    # A 5 ms poll of a counter: costs the intake nothing measurable, unlike a store query.
    while intake.committed < count and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    running.cancel()
    await subscription.stop()
    await publisher.close()
    # Stored and folded: one open thread per referral (the even-numbered envelopes).
    after = (await store.metrics(int(time.time())))["open_threads"]
    assert after == before + (count + 1) // 2, (before, after)
    return count / elapsed


async def main(rounds: int, events: int, raw_count: int) -> None:
    raw_rates: list[float] = []
    tracker_rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with keyed_federation(folder / "secrets.json") as keyed:
            url = keyed.federation.admin_url()
            print(f"sealing {events} envelopes per round...", flush=True)
            store = SqlTrackerStore(f"sqlite+aiosqlite:///{folder / 'tracker.db'}")
            await store.create()
            verifier = HeaderVerifier(keyed.directory_source())
            await verifier.check(sealed_events(keyed, 1), int(time.time()))  # worker started
            settle_startup_objects()  # as `caselink tracker run` does
            for r in range(rounds):
                # The raw consumer never parses: the same envelopes, repeated, do for it.
                sample = sealed_events(keyed, events)
                await fill_tap(url, (sample * (raw_count // events + 1))[:raw_count])
                raw_rates.append(await raw_rate(url, raw_count))
                # Fresh envelopes: the tracker must not see these ids as duplicates.
                await fill_tap_as_agencies(keyed, sealed_events(keyed, events))
                tracker_rates.append(await tracker_rate(keyed, store, verifier, events))
                print(
                    f"round {r + 1}: raw {raw_rates[-1]:.0f}/s, "
                    f"tracker {tracker_rates[-1]:.0f} events/s",
                    flush=True,
                )
            await store.close()
            verifier.close()
    raw, ours = max(raw_rates), max(tracker_rates)
    # Paired by round (measured seconds apart), then the median: see bench/throughput.py.
    ratios = [t / r for t, r in zip(tracker_rates, raw_rates, strict=True)]
    print(f"raw_tap_messages_per_s {raw:.0f} (best round)")
    print(f"tracker_events_per_s {ours:.0f} (best round)")
    print(f"best_rounds_ratio {ours / raw:.3f}")
    print(f"round_ratios {' '.join(f'{ratio:.3f}' for ratio in ratios)}")
    print(f"tracker_ingest_ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--events", type=int, default=4000, help="tracker events per round")
    # About four times the tracker's count, so that both sides drain for a similar time.
    parser.add_argument("--raw", type=int, default=16000, help="raw messages per round")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.events, args.raw))
