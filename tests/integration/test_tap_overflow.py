"""A tracker that is down never holds up the agencies, catches up, and reports what it missed.

On the real RabbitMQ, in a vhost of its own with tiny tap bounds: the tap keeps 2 messages
and its overflow 2 (or 50), the federation's defaults being 1,000,000 and 200,000.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from broker.topology.names import (
    ALERTS_QUEUE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    QueueLimits,
)
from broker.tracker.service import TrackerService
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    keyed_federation,
    make_gateway,
    make_tracker,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B, COORDINATOR = "oscc-north", "social-east", "police-west"
REFERRALS = 6  # each one is two messages on the tap: the referral and B's `received`


async def depths(keyed: KeyedFederation) -> dict[str, int]:
    found = {}
    async with await connect(keyed.federation.admin_url()) as connection:
        channel = await connection.channel()
        for queue in (TAP_QUEUE, TAP_OVERFLOW_QUEUE, TAP_LOST_QUEUE):
            declared = await channel.declare_queue(queue, passive=True)
            found[queue] = declared.declaration_result.message_count or 0
    return found


async def alerts(keyed: KeyedFederation) -> list[dict[str, Any]]:
    found = []
    async with await connect(keyed.federation.admin_url()) as connection:
        queue = await (await connection.channel()).get_queue(ALERTS_QUEUE, ensure=False)
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            found.append(json.loads(message.body))
    return found


async def exchange_while_no_tracker_runs(
    keyed: KeyedFederation, folder: Path
) -> tuple[set[str], set[str]]:
    """A sends REFERRALS referrals to B, and B's gateway acknowledges each; the threads and
    the ids of every message."""
    async with (
        running(make_gateway(keyed, A, folder)) as gateway_a,
        running(make_gateway(keyed, B, folder)) as gateway_b,
    ):
        sent = [
            await gateway_a.submit(
                example_body(MessageKind.REFERRAL), kind=MessageKind.REFERRAL, recipient=B
            )
            for _ in range(REFERRALS)
        ]

        async def all_answered() -> bool:
            received = await gateway_b.store.inbox(kind="referral")
            answers = await gateway_a.store.inbox(kind="acknowledgement")
            unconfirmed = [
                *await gateway_a.store.due(float("inf"), 100),
                *await gateway_b.store.due(float("inf"), 100),
            ]
            return len(received) == REFERRALS == len(answers) and not unconfirmed

        # Every referral stored by B and every receipt by A, and every publish confirmed
        # (a nacked one stays due in its outbox and is published again and again), while
        # the tap overflowed many times over.
        await eventually(all_answered, "every referral at B and its receipt at A")
        answers = await gateway_a.store.inbox(kind="acknowledgement")
    threads = {entry.thread_id for entry in sent}
    return threads, {entry.message_id for entry in sent} | {a.message_id for a in answers}


async def events_known(tracker: TrackerService, threads: set[str]) -> set[str]:
    return {
        entry.message_id for thread in threads for entry in await tracker.store.timeline(thread)
    }


async def test_a_stopped_tracker_holds_up_no_one_and_its_gap_is_alerted(tmp_path: Path) -> None:
    limits = QueueLimits(tap=2, tap_overflow=2)
    async with keyed_federation(tmp_path / "secrets.json", limits) as keyed:
        threads, message_ids = await exchange_while_no_tracker_runs(keyed, tmp_path)
        assert len(message_ids) == 2 * REFERRALS
        assert await depths(keyed) == {TAP_QUEUE: 2, TAP_OVERFLOW_QUEUE: 2, TAP_LOST_QUEUE: 1}

        tracker = make_tracker(keyed, tmp_path, [COORDINATOR])
        await tracker.start()
        try:
            found: list[dict[str, Any]] = []

            async def caught_up() -> bool:
                found.extend(await alerts(keyed))
                return len(await events_known(tracker, threads)) == 4 and any(
                    alert["reason"] == "tap_gap" for alert in found
                )

            # What the tap and its overflow kept (2 + 2) is caught up; the rest is reported.
            await eventually(caught_up, "4 events caught up and the tap_gap alert")
            assert sum((await depths(keyed)).values()) == 0
            known = await events_known(tracker, threads)
        finally:
            await tracker.stop()
    [gap] = [alert for alert in found if alert["reason"] == "tap_gap"]
    assert (gap["level"], gap["agency"]) == ("missed", COORDINATOR)
    # The evidence kept: a message the tracker never saw, named by its verified header.
    assert gap["message_id"] in message_ids - known
    assert gap["thread_id"] in threads


async def test_a_tracker_back_within_the_overflow_catches_up_on_everything(
    tmp_path: Path,
) -> None:
    limits = QueueLimits(tap=2, tap_overflow=50)
    async with keyed_federation(tmp_path / "secrets.json", limits) as keyed:
        threads, message_ids = await exchange_while_no_tracker_runs(keyed, tmp_path)
        assert await depths(keyed) == {
            TAP_QUEUE: 2,
            TAP_OVERFLOW_QUEUE: 2 * REFERRALS - 2,
            TAP_LOST_QUEUE: 0,
        }
        tracker = make_tracker(keyed, tmp_path, [COORDINATOR])
        await tracker.start()
        try:

            async def caught_up() -> bool:
                return await events_known(tracker, threads) == message_ids

            await eventually(caught_up, "every message caught up")
            assert sum((await depths(keyed)).values()) == 0
            assert [a for a in await alerts(keyed) if a["reason"] == "tap_gap"] == []
        finally:
            await tracker.stop()
