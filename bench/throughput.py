"""Throughput: Caselink referrals against raw aio-pika messages, in one run, alternating.

(a) raw aio-pika: persistent 2 KiB messages, publisher confirms, a bounded window of
    unconfirmed publishes, a durable quorum queue, manual acks; publish and consume in this
    process.
(b) FastStream carrying the same raw bytes with no Caselink logic (the framework's share).
(c) Caselink: ~2 KiB referrals from gateway A (in this process) to gateway B (its own
    process, `caselink gateway`, as an agency would run it), each with its SQLite store:
    sealed, stored in B's inbox, answered with the automatic `received` acknowledgement,
    stored back at A. A referral counts when its acknowledgement is stored at A.

The tracker's tap queue receives a copy of every message, and B's gateway the arrival
events of the referrals (in batches) for the notifier, as deployed; both are emptied
between rounds (as a running tracker and notifier would keep them). Then (c) again, paced
at half of its best rate, for send-to-inbox latency. Prints each rate, p50/p99 latency,
peak RSS, the ratio of the best rounds and, last, `throughput_ratio <value>`: the median
over rounds of Caselink referrals/s divided by raw messages/s of the same round. Needs
RabbitMQ on 127.0.0.1 (guest/guest); uses its own vhost and users, deleted at the end.

With --tls the same comparison runs over amqps:// against a TLS-only RabbitMQ node the bench
starts for itself (tests/integration/tls_node.py: spare ports 5681-5689, a temporary folder,
certificates from `caselink certs dev`'s development CA): raw aio-pika and FastStream over
TLS, and both gateways over TLS with client certificates (password login, as the raw side's
guest: the login mechanism costs once per connection, the TLS records every message).

Run: .venv/bin/python bench/throughput.py [--tls] [--rounds N] [--raw N] [--referrals N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import resource
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import aio_pika
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.security import BaseSecurity
from yarl import URL

from broker.app.garbage_collector import settle_startup_objects
from broker.gateway.service import Gateway
from broker.operator.apply import RABBITMQCTL
from broker.store.gateway_store import SqlGatewayStore
from broker.tls.client import AmqpTls, client_context
from broker.tls.dev_ca import build_bundle, client_files, write_bundle
from broker.topology.names import NOTIFIER_ARRIVALS_QUEUE, TAP_QUEUE
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import (
    eventually,
    free_port,
    gateway_config,
    gateway_process,
    healthy,
    keyed_federation,
    make_gateway,
    running,
)
from tests.integration.tls_node import tls_node

WINDOW = 256
PAYLOAD = os.urandom(2048)
RAW_URL = "amqp://guest:guest@127.0.0.1/"
BENCH_CLIENT = "bench-client"  # the certificate every TLS connection of the bench presents


@dataclass(frozen=True)
class Target:
    """Where the bench connects: the machine's node over TCP, or its own node over TLS."""

    ctl: Sequence[str] = RABBITMQCTL
    tls_port: int | None = None
    certs: Path | None = None

    def url(self, url: str) -> str:
        """`url` (amqp://...@127.0.0.1/vhost) as this target reaches it."""
        if self.tls_port is None:
            return url
        return str(URL(url).with_scheme("amqps").with_port(self.tls_port))

    @property
    def context(self) -> ssl.SSLContext | None:
        if self.certs is None:
            return None
        cert, key = client_files(BENCH_CLIENT)
        return client_context(self.certs / "ca.pem", self.certs / cert, self.certs / key)

    @property
    def tls(self) -> AmqpTls | None:
        context = self.context
        return None if context is None else AmqpTls(context)

    def gateway_toml(self) -> str:
        if self.certs is None:
            return ""
        cert, key = client_files(BENCH_CLIENT)
        return (
            f'amqp_ca_file = "{self.certs / "ca.pem"}"\n'
            f'amqp_cert_file = "{self.certs / cert}"\n'
            f'amqp_key_file = "{self.certs / key}"\n'
        )

    async def connect(self, url: str) -> aio_pika.abc.AbstractConnection:
        return await aio_pika.connect(self.url(url), ssl_context=self.context)


@asynccontextmanager
async def target(use_tls: bool, folder: Path) -> AsyncIterator[Target]:
    """The machine's node, or a TLS-only node of the bench's own, stopped at the end."""
    if not use_tls:
        yield Target()
        return
    certs = folder / "certs"
    write_bundle(build_bundle([BENCH_CLIENT]), certs)
    (folder / "node").mkdir(mode=0o700)
    with tls_node(folder / "node", certs) as node:
        yield Target(ctl=node.ctl, tls_port=node.port, certs=certs)


async def raw_aio_pika(where: Target, count: int) -> float:
    """Messages per second, publish to consume, through a fresh quorum queue."""
    connection = await where.connect(RAW_URL)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=WINDOW)
        queue = await channel.declare_queue(
            f"bench-raw-{uuid.uuid4().hex[:8]}",
            durable=True,
            arguments={"x-queue-type": "quorum"},
        )
        done = asyncio.Event()
        received = 0

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal received
            await message.ack()
            received += 1
            if received == count:
                done.set()

        await queue.consume(on_message)
        window = asyncio.Semaphore(WINDOW)
        exchange = channel.default_exchange

        async def publish_one() -> None:
            async with window:
                await exchange.publish(
                    aio_pika.Message(PAYLOAD, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    queue.name,
                    mandatory=True,
                )

        started = time.perf_counter()
        await asyncio.gather(*(publish_one() for _ in range(count)))
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - started
        await queue.delete(if_unused=False, if_empty=False)
    return count / elapsed


async def raw_faststream(where: Target, count: int) -> float:
    """The same, with FastStream publishing and consuming the raw bytes."""
    context = where.context
    broker = RabbitBroker(
        where.url(RAW_URL),
        security=None if context is None else BaseSecurity(ssl_context=context, use_ssl=True),
        default_channel=Channel(prefetch_count=WINDOW, on_return_raises=True),
        log_level=logging.DEBUG,
    )
    name = f"bench-fs-{uuid.uuid4().hex[:8]}"
    queue = RabbitQueue(name, durable=True, arguments={"x-queue-type": "quorum"})
    done = asyncio.Event()
    received = 0

    @broker.subscriber(queue, ack_policy=AckPolicy.ACK, no_reply=True)
    async def handle(body: bytes) -> None:
        nonlocal received
        received += 1
        if received == count:
            done.set()

    await broker.start()
    try:
        window = asyncio.Semaphore(WINDOW)

        async def publish_one() -> None:
            async with window:
                await broker.publish(PAYLOAD, queue=name, persist=True, mandatory=True)

        started = time.perf_counter()
        await asyncio.gather(*(publish_one() for _ in range(count)))
        await asyncio.wait_for(done.wait(), 300)
        elapsed = time.perf_counter() - started
    finally:
        await broker.stop()
    connection = await where.connect(RAW_URL)
    async with connection:
        channel = await connection.channel()
        await (await channel.get_queue(name)).delete(if_unused=False, if_empty=False)
    return count / elapsed


async def acknowledged(gateway_a: Gateway, count: int, timeout_s: float = 600) -> None:
    """Wait until A's inbox holds `count` messages.

    Polls gently while far off and closely near the end: every poll is a query in gateway
    A's process, which competes with the work being measured.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        stored = (await gateway_a.store.counts())["inbox_total"]
        if stored >= count:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {stored} of {count} acknowledgements arrived")
        await asyncio.sleep(0.02 if count - stored < WINDOW else 0.25)


async def empty_tap(where: Target, admin_url: str) -> None:
    """Drop what the tap and the notifier's arrivals queue hold. A running tracker and notifier
    keep them near empty; without them, a growing backlog would slow RabbitMQ round after
    round and measure the bench, not the gateways."""
    connection = await where.connect(admin_url)
    async with connection:
        channel = await connection.channel()
        for queue in (TAP_QUEUE, NOTIFIER_ARRIVALS_QUEUE):
            await (await channel.get_queue(queue, ensure=False)).purge()


async def caselink_rate(gateway_a: Gateway, count: int) -> float:
    """Referrals per second, submit to `received` acknowledgement back at A.

    Submitted by WINDOW concurrent callers, as the agency's systems would through the HTTP
    API: sealing interleaves with publishing instead of sealing everything up front.
    """
    body = example_body(MessageKind.REFERRAL)
    before = (await gateway_a.store.counts())["inbox_total"]
    callers = asyncio.Semaphore(WINDOW)

    async def submit_one() -> None:
        async with callers:
            await gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient="social-east")

    started = time.perf_counter()
    await asyncio.gather(*(submit_one() for _ in range(count)))
    await acknowledged(gateway_a, before + count)
    return count / (time.perf_counter() - started)


async def caselink_latency(
    gateway_a: Gateway, store_b: SqlGatewayStore, rate: float, seconds: float
) -> tuple[float, list[float]]:
    """The rate achieved and the send-to-inbox latencies (s) of referrals offered at `rate`/s.

    Open loop: each referral is submitted at its scheduled time whether or not the ones
    before it have been committed, as independent agency systems would; its latency runs
    from that moment to its row in B's inbox.
    """
    body = example_body(MessageKind.REFERRAL)
    submitted: dict[str, float] = {}
    interval = 1.0 / rate

    async def submit_one() -> None:
        sent_at = time.time()
        entry = await gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient="social-east")
        submitted[entry.message_id] = sent_at

    submitting: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        submitting.append(asyncio.create_task(submit_one()))
        await asyncio.sleep(max(0.0, started + len(submitting) * interval - time.perf_counter()))
    achieved = len(submitting) / (time.perf_counter() - started)
    await asyncio.gather(*submitting)
    latencies: list[float] = []
    deadline = time.monotonic() + 120
    while submitted and time.monotonic() < deadline:
        for message_id, sent_at in list(submitted.items()):
            stored = await store_b.inbox_message(message_id)
            if stored is not None:
                latencies.append(stored.received_at - sent_at)
                del submitted[message_id]  # found once, never asked for again
        await asyncio.sleep(0.2)
    return achieved, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def main(rounds: int, raw_count: int, referrals: int, use_tls: bool) -> None:
    raw_rates: list[float] = []
    fs_rates: list[float] = []
    caselink_rates: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        async with (
            target(use_tls, folder) as where,
            keyed_federation(folder / "secrets.json", ctl=where.ctl) as keyed,
        ):
            port = free_port()
            config_b = gateway_config(
                keyed,
                "social-east",
                folder / "b",
                port,
                amqp_url=where.url(keyed.federation.url("social-east")),
                extra_toml=where.gateway_toml(),
            )
            store_b = SqlGatewayStore(f"sqlite+aiosqlite:///{folder / 'b' / 'gateway.db'}")
            with gateway_process(config_b):
                await eventually(lambda: healthy(port), "gateway B up", timeout_s=60)
                gateway = make_gateway(
                    keyed,
                    "oscc-north",
                    folder,
                    amqp_url=where.url(keyed.federation.url("oscc-north")),
                    tls=where.tls,
                )
                async with running(gateway) as gateway_a:
                    await caselink_rate(gateway_a, 200)  # warm-up: connections, caches
                    settle_startup_objects()  # as `caselink gateway` does (B does it too)
                    for r in range(rounds):
                        raw_rates.append(await raw_aio_pika(where, raw_count))
                        fs_rates.append(await raw_faststream(where, raw_count))
                        await empty_tap(where, keyed.federation.admin_url())
                        caselink_rates.append(await caselink_rate(gateway_a, referrals))
                        print(
                            f"round {r + 1}: raw {raw_rates[-1]:.0f}/s, "
                            f"faststream {fs_rates[-1]:.0f}/s, "
                            f"caselink {caselink_rates[-1]:.0f} referrals/s",
                            flush=True,
                        )
                    await empty_tap(where, keyed.federation.admin_url())
                    half = max(caselink_rates) / 2
                    achieved, latencies = await caselink_latency(
                        gateway_a, store_b, half, seconds=10
                    )
    raw, fs, ours = max(raw_rates), max(fs_rates), max(caselink_rates)
    # ru_maxrss of children: the largest waited-for child, gateway B alone.
    peak_rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    # Each round's rates were measured seconds apart, so their ratio shares the machine's
    # mood of the moment; the median over rounds discounts a round that caught a burst
    # of load (or quiet) on one side only.
    ratios = [c / r for c, r in zip(caselink_rates, raw_rates, strict=True)]
    fs_ratios = [f / r for f, r in zip(fs_rates, raw_rates, strict=True)]
    print(f"transport {'amqps (TLS, own node)' if use_tls else 'amqp (TCP)'}")
    print(f"raw_aio_pika_messages_per_s {raw:.0f} (best round)")
    print(f"faststream_raw_messages_per_s {fs:.0f} (best round)")
    print(f"faststream_ratio {statistics.median(fs_ratios):.3f}")
    print(f"caselink_referrals_per_s {ours:.0f} (best round)")
    print(
        f"latency_at_half_load_rate {achieved:.0f}/s offered (half of {ours:.0f}/s) "
        f"over {len(latencies)} referrals"
    )
    print(f"send_to_inbox_p50_ms {1000 * statistics.median(latencies):.1f}")
    print(f"send_to_inbox_p99_ms {1000 * percentile(latencies, 0.99):.1f}")
    print(f"gateway_peak_rss_mib {peak_rss_mib:.0f} (gateway B's process)")
    print(f"best_rounds_ratio {ours / raw:.3f} (best Caselink round / best raw round)")
    print(f"round_ratios {' '.join(f'{ratio:.3f}' for ratio in ratios)}")
    print(f"throughput_ratio {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Sized so that each side of a round runs for a few seconds: a short window is noisier,
    # and the comparison should not set a long Caselink window against a short raw one.
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--raw", type=int, default=15000, help="raw messages per round")
    parser.add_argument("--referrals", type=int, default=2500, help="referrals per round")
    parser.add_argument(
        "--tls", action="store_true", help="over amqps:// against a TLS node the bench starts"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.raw, args.referrals, args.tls))
