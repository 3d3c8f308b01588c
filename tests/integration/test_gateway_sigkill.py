"""The recipient's gateway process killed with SIGKILL mid-stream: nothing lost, nothing twice."""

import asyncio
import os
import signal
import sqlite3
from pathlib import Path

import pytest

from broker.store.gateway_store import SqlGatewayStore
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    gateway_config,
    gateway_process,
    healthy,
    make_gateway,
    running,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

A, B = "oscc-north", "social-east"
REFERRALS = 2000
KILL_AFTER = 50  # stored at B: early, so most of the stream is still in flight


async def test_recipient_killed_mid_stream_loses_nothing(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    port = free_port()
    config = gateway_config(keyed, B, tmp_path / "b", port)
    store_b = SqlGatewayStore(f"sqlite+aiosqlite:///{tmp_path / 'b' / 'gateway.db'}")
    body = example_body(MessageKind.REFERRAL)
    async with running(make_gateway(keyed, A, tmp_path)) as gateway_a:
        with gateway_process(config) as first:
            await eventually(lambda: healthy(port), "B's gateway healthy", timeout_s=60)
            submitting = asyncio.gather(
                *(
                    gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient=B)
                    for _ in range(REFERRALS)
                )
            )

            async def started() -> bool:
                return (await store_b.counts()).get("inbox_total", 0) >= KILL_AFTER

            await eventually(started, "the first referrals stored at B", timeout_s=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
            sent = [entry.message_id for entry in await submitting]
        stored_at_kill = (await store_b.counts())["inbox_total"]
        assert stored_at_kill < REFERRALS, "the kill came too late to test anything"

        with gateway_process(config):
            await eventually(lambda: healthy(port), "B's gateway back", timeout_s=60)

            async def all_acknowledged() -> bool:
                statuses = await gateway_a.store.sent(limit=REFERRALS + 10)
                return sum(s.delivered_at is not None for s in statuses) == REFERRALS

            await eventually(all_acknowledged, "every referral acknowledged", timeout_s=240)

    inbox = await store_b.inbox(kind="referral", limit=REFERRALS + 10)
    assert sorted(m.message_id for m in inbox) == sorted(sent)
    assert await store_b.counts() == {"outbox_pending": 0, "inbox_total": REFERRALS}
    with sqlite3.connect(tmp_path / "b" / "gateway.db") as db:
        (acks_made_by_b,) = db.execute("SELECT count(*) FROM outbox").fetchone()
    assert acks_made_by_b == REFERRALS  # one `received` per referral, none for redeliveries
    acks_at_a = await gateway_a.store.inbox(kind="acknowledgement", limit=REFERRALS + 10)
    assert sorted(m.in_reply_to for m in acks_at_a) == sorted(sent)
    await store_b.close()
