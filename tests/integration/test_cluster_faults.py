"""5,000 referrals between two gateways on different nodes of a three-node cluster, while
the node leading the recipient's quorum queue is killed (SIGKILL) and restarted, or paused
(SIGSTOP) and resumed: each referral arrives once, none is lost, and the gateways move to
another node by themselves. Prints how long delivery stalled. And the active tracker
killed (SIGKILL) mid-stream: the standby takes over the tap by itself; prints how soon.

One cluster for the module (deploy/cluster/cluster.sh), one vhost per test.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aio_pika
import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest
from aiormq.exceptions import AMQPError

from broker.amqp.connection import connect
from broker.gateway.service import Gateway
from broker.store.gateway_store import SqlGatewayStore
from broker.topology.names import ALERTS_QUEUE
from broker.tracker.escalation import alert_id_of
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    healthy,
    make_gateway,
    running,
)
from tests.integration.rabbit_cluster import (
    Cluster,
    cluster_federation,
    cluster_url,
    started_cluster,
)
from tests.integration.test_tracker_process import children_of, tracker_config

pytestmark = [pytest.mark.rabbitmq, pytest.mark.postgres, pytest.mark.slow]

A, B = "oscc-north", "social-east"
REFERRALS = 5000
FAULT_AFTER = 1000  # stored at B when the fault comes: most of the stream still in flight
# The gateways start on different nodes; each lists all three, its own first.
A_NODES, B_NODES = (1, 2, 3), (2, 3, 1)
PAUSE_S = 20.0
DELIVERY_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with started_cluster(tmp_path_factory.mktemp("cluster")) as started:
        yield started


@pytest.fixture
def keyed(cluster: Cluster, tmp_path: Path) -> Iterator[KeyedFederation]:
    with cluster_federation(cluster, tmp_path / "secrets.json") as federation:
        yield federation


def gateway_on(
    keyed: KeyedFederation, agency_id: str, nodes: tuple[int, ...], store_url: str
) -> Gateway:
    """A gateway on its node list, its store on PostgreSQL as in a cluster's set-up."""
    federation = keyed.federation
    user = federation.user(agency_id)
    url = cluster_url(user, federation.passwords[user], federation.topology.vhost, nodes)
    store = SqlGatewayStore(store_url)
    return make_gateway(keyed, agency_id, Path(), store=store, amqp_url=url)


def pg_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1/{database}"


class ArrivalClock:
    """Samples B's count of stored referrals; the longest time it stood still is the stall."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.samples: list[tuple[float, int]] = []

    async def count(self) -> int:
        return (await self._gateway.store.counts()).get("inbox_total", 0)

    async def run(self) -> None:
        while True:
            self.samples.append((time.monotonic(), await self.count()))
            await asyncio.sleep(0.05)

    def reached_at(self, count: int) -> float:
        """When the count first reached `count` (it has: now, if not sampled yet)."""
        return next((at for at, seen in self.samples if seen >= count), time.monotonic())

    def longest_stall_since(self, start: float) -> float:
        """Longest time without a new arrival after `start`, until the last arrival."""
        longest, last_change, last_count = 0.0, start, None
        for at, count in self.samples:
            if at < start:
                last_count = count
                continue
            if count != last_count:
                longest = max(longest, at - last_change)
                last_change, last_count = at, count
        return longest


@asynccontextmanager
async def streaming(
    keyed: KeyedFederation, folder: Path
) -> AsyncIterator[tuple[Gateway, Gateway, ArrivalClock, list[str]]]:
    """Both gateways running on their nodes, each with a PostgreSQL store of its own, and
    REFERRALS submitted at A to B."""
    async with (
        pg_database() as store_a,
        pg_database() as store_b,
        running(gateway_on(keyed, A, A_NODES, pg_url(store_a))) as gateway_a,
        running(gateway_on(keyed, B, B_NODES, pg_url(store_b))) as gateway_b,
    ):
        clock = ArrivalClock(gateway_b)
        sampling = asyncio.create_task(clock.run())
        try:
            body = example_body(MessageKind.REFERRAL)
            entries = await asyncio.gather(
                *(
                    gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient=B)
                    for _ in range(REFERRALS)
                )
            )
            yield gateway_a, gateway_b, clock, [entry.message_id for entry in entries]
        finally:
            sampling.cancel()


async def reached(clock: ArrivalClock, count: int) -> None:
    async def check() -> bool:
        return await clock.count() >= count

    await eventually(check, f"{count} referrals at B", timeout_s=DELIVERY_TIMEOUT_S)


async def assert_each_once(gateway_a: Gateway, gateway_b: Gateway, sent: list[str]) -> None:
    """Every referral stored once at B, every `received` acknowledgement once at A."""

    async def all_acknowledged() -> bool:
        statuses = await gateway_a.store.sent(limit=REFERRALS + 10)
        return sum(s.delivered_at is not None for s in statuses) == REFERRALS

    await eventually(all_acknowledged, "every referral acknowledged", timeout_s=DELIVERY_TIMEOUT_S)
    inbox = await gateway_b.store.inbox(kind="referral", limit=REFERRALS + 10)
    assert sorted(m.message_id for m in inbox) == sorted(sent)
    assert (await gateway_b.store.counts())["inbox_total"] == REFERRALS
    acks = await gateway_a.store.inbox(kind="acknowledgement", limit=REFERRALS + 10)
    assert sorted(m.in_reply_to or "" for m in acks) == sorted(sent)
    assert (await gateway_a.health()).status == "ok"
    assert (await gateway_b.health()).status == "ok"


async def test_the_recipient_queue_leader_killed_mid_stream(
    cluster: Cluster, keyed: KeyedFederation, tmp_path: Path
) -> None:
    vhost, queue = keyed.federation.topology.vhost, keyed.federation.topology.agency_queue(B)
    leader = await asyncio.to_thread(cluster.leader, vhost, queue)  # before: it takes a second
    started = time.monotonic()
    async with streaming(keyed, tmp_path) as (gateway_a, gateway_b, clock, sent):
        await reached(clock, FAULT_AFTER)
        killed_at = time.monotonic()
        cluster.kill(leader)
        try:
            at_kill = await clock.count()
            assert at_kill < REFERRALS, "the kill came too late to test anything"
            # Delivery goes on without the node before it comes back.
            await reached(clock, min(at_kill + 200, REFERRALS))
            resumed_in = clock.reached_at(min(at_kill + 200, REFERRALS)) - killed_at
        finally:
            await asyncio.to_thread(cluster.start, leader)
        await asyncio.to_thread(cluster.wait_all_running)
        await reached(clock, REFERRALS)
        stall = clock.longest_stall_since(killed_at)
        await assert_each_once(gateway_a, gateway_b, sent)
        new_leader = await asyncio.to_thread(cluster.leader, vhost, queue)
    print(
        f"\nSIGKILL of c{leader} (leader of {queue}) at {at_kill} of {REFERRALS} referrals: "
        f"delivery stalled {stall:.1f} s at most, 200 more arrived {resumed_in:.1f} s after "
        f"the kill; new leader c{new_leader}; all {REFERRALS} once in "
        f"{time.monotonic() - started:.0f} s"
    )
    assert new_leader in cluster.running()


async def test_a_paused_node_stops_accepting_and_nothing_is_lost_after_it_resumes(
    cluster: Cluster, keyed: KeyedFederation, tmp_path: Path
) -> None:
    vhost, queue = keyed.federation.topology.vhost, keyed.federation.topology.agency_queue(B)
    federation = keyed.federation
    paused = await asyncio.to_thread(cluster.leader, vhost, queue)
    started = time.monotonic()
    async with streaming(keyed, tmp_path) as (gateway_a, gateway_b, clock, sent):
        await reached(clock, FAULT_AFTER)
        paused_at = time.monotonic()
        with cluster.paused(paused):
            at_pause = await clock.count()
            assert at_pause < REFERRALS, "the pause came too late to test anything"
            # The minority side (the paused node) accepts no connection.
            user = federation.user(A)
            alone = cluster_url(user, federation.passwords[user], vhost, (paused,))
            with pytest.raises((TimeoutError, AMQPError, OSError)):
                await connect(alone)
            # The majority carries on: the queue elects another leader, the gateways move.
            await reached(clock, min(at_pause + 200, REFERRALS))
            resumed_in = clock.reached_at(min(at_pause + 200, REFERRALS)) - paused_at
            await asyncio.sleep(max(0.0, PAUSE_S - (time.monotonic() - paused_at)))
        await asyncio.to_thread(cluster.wait_all_running)
        await reached(clock, REFERRALS)
        stall = clock.longest_stall_since(paused_at)
        await assert_each_once(gateway_a, gateway_b, sent)
    print(
        f"\nSIGSTOP of c{paused} (leader of {queue}) for {PAUSE_S:.0f} s at {at_pause} of "
        f"{REFERRALS} referrals: delivery stalled {stall:.1f} s at most, 200 more arrived "
        f"{resumed_in:.1f} s after the pause; all {REFERRALS} once in "
        f"{time.monotonic() - started:.0f} s"
    )


# The tracker's standby: two `caselink tracker` processes on different nodes, one PostgreSQL
# store. The first to subscribe holds the tap (single active consumer); the other waits, but
# sweeps and publishes alerts from the shared store all along.
FIRST_WAVE = 300  # referrals whose reminders the active tracker raises before the kill
TRACKED = 1000  # referrals in all: the rest are submitted after those reminders
KILL_AT = FIRST_WAVE + 200  # threads stored when the active tracker is killed
# Every referral is overdue for a response after 4 s, escalated after 8 s: a reminder
# (recipient, coordinators) and an escalation (coordinators, both supervisors), at least.
# Delivery may be no later than the response: a `received` later than 4 s adds its own.
SLA_S = 4
ALERTS_PER_THREAD = 5
SHORT_SLA = "".join(
    f'[referral.{urgency}]\ndelivery = "{SLA_S}s"\nresponse = "{SLA_S}s"\n\n'
    for urgency in ("emergency", "high", "normal", "low")
) + (
    '[transfer]\ndelivery = "4h"\nresponse = "5d"\n\n'
    '[consent_withdrawal]\nacknowledgement = "24h"\n'
)
PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
TRACKER_TIMEOUT_S = 120


@asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database: its name; dropped (forcibly) afterwards."""
    name = f"caselink_cluster_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(**PG_ADMIN, database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class Trackers:
    """`caselink tracker` processes, each on its own node list, one store and a short SLA;
    all stopped on the way out, header workers too (a SIGKILLed tracker leaves them)."""

    def __init__(self, keyed: KeyedFederation, folder: Path, store_url: str) -> None:
        self._keyed, self._folder, self._store_url = keyed, folder, store_url
        (folder / "sla.toml").write_text(SHORT_SLA)
        self.processes: list[subprocess.Popen[bytes]] = []
        self.workers: set[int] = set()

    async def start(self, name: str, nodes: tuple[int, ...]) -> subprocess.Popen[bytes]:
        """Start one and wait until it holds its consumers (active or standby)."""
        federation = self._keyed.federation
        user = federation.topology.tracker_user()
        folder = self._folder / name
        folder.mkdir()
        port = free_port()
        config = tracker_config(self._keyed, folder, port)
        vhost = federation.topology.vhost
        overrides = {
            "AMQP_URL": cluster_url(user, federation.passwords[user], vhost, nodes),
            "STORE_URL": self._store_url,
            "SLA_POLICY": str(self._folder / "sla.toml"),
            "SWEEP_INTERVAL_S": "1",
        }
        env = os.environ | {f"CASELINK_TRACKER_{key}": value for key, value in overrides.items()}
        process = self._spawn(config, folder / "tracker.log", env)
        await eventually(lambda: healthy(port), f"tracker {name} subscribed", timeout_s=60)
        return process

    def _spawn(self, config: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "broker.cli", "tracker", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env=env,
            )
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL: no goodbye to the broker or the database, the sockets just close."""
        self.workers |= children_of(process.pid)
        process.kill()

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                self.workers |= children_of(process.pid)
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in self.workers:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def observe_alerts(url: str, seen: Counter[str]) -> None:
    """Count every alert id that reaches the alerts queue (acking it), until cancelled."""
    async with await aio_pika.connect(url) as connection:
        channel = await connection.channel()
        queue = await channel.get_queue(ALERTS_QUEUE, ensure=False)
        async with queue.iterator() as messages:
            async for message in messages:
                seen[message.message_id or ""] += 1
                await message.ack()


async def submit_referrals(gateway: Gateway, count: int) -> list[str]:
    body = example_body(MessageKind.REFERRAL)
    entries = await asyncio.gather(
        *(gateway.submit(body, kind=MessageKind.REFERRAL, recipient=B) for _ in range(count))
    )
    return [entry.message_id for entry in entries]


async def test_a_standby_tracker_takes_over_the_tap_and_no_alert_is_raised_twice(
    cluster: Cluster, keyed: KeyedFederation, tmp_path: Path
) -> None:
    vhost = keyed.federation.topology.vhost
    # guest watches the alerts queue for the test; the grant dies with the vhost.
    await asyncio.to_thread(cluster.ctl, "set_permissions", "-p", vhost, "guest", *[".*"] * 3)
    seen: Counter[str] = Counter()
    watch_url = cluster_url("guest", "guest", vhost, (1,))
    watching = asyncio.create_task(observe_alerts(watch_url, seen))
    started = time.monotonic()
    async with pg_database() as database:
        trackers = Trackers(keyed, tmp_path, pg_url(database))
        db = await asyncpg.connect(**PG_ADMIN, database=database)

        async def rows(where: str) -> int:
            count: int = await db.fetchval(f"SELECT count(*) FROM {where}")
            return count

        try:
            # The first to subscribe is the tap's active consumer; gateways on c1 and c2.
            active = await trackers.start("active", (3, 1, 2))
            await trackers.start("standby", (1, 2, 3))
            async with (
                pg_database() as store_a,
                pg_database() as store_b,
                running(gateway_on(keyed, A, A_NODES, pg_url(store_a))) as gateway_a,
                running(gateway_on(keyed, B, B_NODES, pg_url(store_b))),
            ):
                sent = await submit_referrals(gateway_a, FIRST_WAVE)

                async def reminded() -> bool:
                    return await rows("alerts WHERE published_at IS NOT NULL") >= FIRST_WAVE

                await eventually(reminded, "the first reminders", timeout_s=TRACKER_TIMEOUT_S)
                second_wave = asyncio.create_task(submit_referrals(gateway_a, TRACKED - FIRST_WAVE))

                async def killable() -> bool:
                    return await rows("threads") >= KILL_AT

                await eventually(killable, f"{KILL_AT} threads", timeout_s=TRACKER_TIMEOUT_S)
                trackers.kill(active)
                killed_at, killed_wall = time.monotonic(), time.time()
                events_at_kill, threads_at_kill = await rows("events"), await rows("threads")
                # The dead relay's batch: leased to it (its name holds its pid), unmarked.
                # What it had published of it goes out again once the lease ends.
                dead_batch = {
                    alert_id_of(row["key"])
                    for row in await db.fetch(
                        "SELECT key FROM alerts WHERE published_at IS NULL AND claimed_by LIKE $1",
                        f"%:{active.pid}:%",
                    )
                }
                assert threads_at_kill < TRACKED, "the kill came too late to test anything"

                async def taken_over() -> bool:
                    return await rows("events") > events_at_kill

                # The standby is given the tap by RabbitMQ, with the dead one's unacked.
                await eventually(taken_over, "the standby storing", timeout_s=TRACKER_TIMEOUT_S)
                takeover_s = time.monotonic() - killed_at
                sent += await second_wave

                async def all_tracked() -> bool:
                    # Every referral's event stored, and its thread with it.
                    known = await db.fetchval(
                        "SELECT count(*) FROM events JOIN threads USING (thread_id) "
                        "WHERE message_id = ANY($1)",
                        sent,
                    )
                    return bool(known == TRACKED)

                await eventually(all_tracked, "every thread known", timeout_s=TRACKER_TIMEOUT_S)

            async def all_alerted() -> bool:
                # Every ladder climbed (nothing left to check), every alert confirmed and seen.
                climbing = await rows("threads WHERE next_check_at IS NOT NULL")
                unpublished = await rows("alerts WHERE published_at IS NULL")
                return not climbing and not unpublished and len(seen) == await rows("alerts")

            await eventually(all_alerted, "every alert published", timeout_s=TRACKER_TIMEOUT_S)
            await asyncio.sleep(2)  # a late second publish of one would show by now
            published = {
                alert_id_of(row["key"]): row["published_at"]
                for row in await db.fetch("SELECT key, published_at FROM alerts")
            }
        finally:
            watching.cancel()
            await db.close()
            await asyncio.to_thread(trackers.stop)
    survivor = trackers.processes[1]
    twice = {alert_id for alert_id, n in seen.items() if n > 1}
    before_kill = [alert_id for alert_id, at in published.items() if at < killed_wall]
    print(
        f"\nSIGKILL of the active tracker at {threads_at_kill} of {TRACKED} threads: the "
        f"standby stored tap events {takeover_s:.1f} s later; {len(published)} alerts, "
        f"{len(before_kill)} of them confirmed before the kill; {len(twice)} published more "
        f"than once, of {len(dead_batch)} leased to the killed tracker's relay and not marked "
        f"published; all in {time.monotonic() - started:.0f} s"
    )
    assert survivor.returncode == -signal.SIGTERM, "the standby ran until stopped"
    assert len(published) >= ALERTS_PER_THREAD * TRACKED
    assert sorted(seen) == sorted(published)
    # Every tracker, the standby too, runs the alert relay over the shared store; each claims
    # its batch (a lease), so no alert is published by both. Only what the killed relay had
    # published of its batch but not yet marked goes out again, once its lease ends: at least
    # once, by design (same alert id: the notifier sends one email per id).
    assert twice <= dead_batch, f"{len(twice - dead_batch)} alerts published by both relays"
