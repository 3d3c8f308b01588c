"""2,000 referrals in flight while RabbitMQ stops and starts: each arrives once, each is acked."""

import asyncio
from pathlib import Path

import pytest

from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.broker_control import start_app, stop_app
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

A, B = "oscc-north", "social-east"
REFERRALS = 2000
DURING_OUTAGE = 200  # of REFERRALS, submitted while the broker is down


async def test_referrals_survive_a_broker_restart(keyed: KeyedFederation, tmp_path: Path) -> None:
    body = example_body(MessageKind.REFERRAL)
    async with (
        running(make_gateway(keyed, A, tmp_path)) as gateway_a,
        running(make_gateway(keyed, B, tmp_path)) as gateway_b,
    ):

        async def submit(count: int) -> list[str]:
            entries = await asyncio.gather(
                *(
                    gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient=B)
                    for _ in range(count)
                )
            )
            return [entry.message_id for entry in entries]

        sent = await submit(REFERRALS - DURING_OUTAGE)

        async def some_arrived() -> bool:
            return len(await gateway_b.store.inbox(kind="referral", limit=REFERRALS)) >= 200

        await eventually(some_arrived, "the first referrals at B", timeout_s=60)
        try:
            await stop_app()

            async def consumer_down() -> bool:
                return not (await gateway_b.health()).ok

            await eventually(consumer_down, "B's health reporting the lost consumer")
            sent += await submit(DURING_OUTAGE)  # the outbox takes them with the broker down

            async def publishes_held_back() -> bool:
                pending = (await gateway_a.store.counts())["outbox_pending"]
                failing = gateway_a.relay.failing
                return (
                    failing is not None and failing.reason == "broker_unavailable" and pending > 0
                )

            await eventually(publishes_held_back, "A's relay pausing on the outage")
        finally:
            await start_app()

        async def all_arrived() -> bool:
            inbox = await gateway_b.store.inbox(kind="referral", limit=REFERRALS + 10)
            return len(inbox) == REFERRALS

        await eventually(all_arrived, f"all {REFERRALS} referrals at B", timeout_s=240)

        async def all_acknowledged() -> bool:
            statuses = await gateway_a.store.sent(limit=REFERRALS + 10)
            return sum(s.delivered_at is not None for s in statuses) == REFERRALS

        await eventually(all_acknowledged, "every received acknowledgement at A", timeout_s=240)
        inbox_ids = {m.message_id for m in await gateway_b.store.inbox(limit=REFERRALS + 10)}
        assert inbox_ids == set(sent)
        acks_at_a = await gateway_a.store.inbox(kind="acknowledgement", limit=REFERRALS + 10)
        assert sorted(m.in_reply_to for m in acks_at_a) == sorted(sent)
        # Both healthy again: subscribed, and the outage cleared by the confirms since.
        assert (await gateway_b.health()).status == "ok"
        assert (await gateway_a.health()).status == "ok"
