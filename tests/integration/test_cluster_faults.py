"""5,000 referrals between two gateways on different nodes of a three-node cluster, while
the node leading the recipient's quorum queue is killed (SIGKILL) and restarted, or paused
(SIGSTOP) and resumed: each referral arrives once, none is lost, and the gateways move to
another node by themselves. Prints how long delivery stalled.

One cluster for the module (deploy/cluster/cluster.sh), one vhost per test.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiormq.exceptions import AMQPError

from broker.amqp.connection import connect
from broker.gateway.service import Gateway
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)
from tests.integration.rabbit_cluster import (
    Cluster,
    cluster_federation,
    cluster_url,
    started_cluster,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

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
    keyed: KeyedFederation, agency_id: str, nodes: tuple[int, ...], folder: Path
) -> Gateway:
    federation = keyed.federation
    user = federation.user(agency_id)
    url = cluster_url(user, federation.passwords[user], federation.topology.vhost, nodes)
    return make_gateway(keyed, agency_id, folder, amqp_url=url)


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
    """Both gateways running on their nodes, and REFERRALS submitted at A to B."""
    async with (
        running(gateway_on(keyed, A, A_NODES, folder)) as gateway_a,
        running(gateway_on(keyed, B, B_NODES, folder)) as gateway_b,
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
