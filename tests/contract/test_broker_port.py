"""The broker port's contract, run on RabbitMQ and on the in-memory broker alike.

What passes here on both is what the services may rely on; the in-memory broker is only
trusted as far as these tests go (see broker/testing/memory_broker.py for what it leaves out).
"""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from broker.messaging.errors import BrokerUnavailable, PublishRefused, Unroutable
from broker.messaging.port import Delivery, Subscription
from broker.messaging.settle import ack_all
from broker.topology.names import (
    ALERTS_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    MESSAGES_EXCHANGE,
    TAP_QUEUE,
    routing_key,
)
from schemas.ids import new_message_id
from schemas.kinds import MessageKind
from tests.contract.brokers import ADMIN, BrokerUnderTest, broker_under_test, take
from tests.integration.gateway_harness import eventually

A, B, C = "oscc-north", "social-east", "police-west"


@pytest.fixture(params=["memory", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
async def broker(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BrokerUnderTest]:
    async with broker_under_test(request.param, tmp_path / "secrets.json") as under_test:
        yield under_test


def user(broker: BrokerUnderTest, agency: str) -> str:
    return broker.topology.agency_user(agency)


def queue_of(broker: BrokerUnderTest, agency: str) -> str:
    return broker.topology.agency_queue(agency)


async def send(broker: BrokerUnderTest, count: int, *, sender: str = A, to: str = B) -> list[str]:
    """`count` referrals from `sender` to `to`, confirmed; their message ids in order."""
    publisher = broker.publisher(user(broker, sender))
    ids = [new_message_id() for _ in range(count)]
    try:
        for number, message_id in enumerate(ids):
            await publisher.publish(
                MESSAGES_EXCHANGE,
                routing_key(MessageKind.REFERRAL, sender, to),
                f"envelope {number}".encode(),
                message_id=message_id,
            )
    finally:
        await publisher.close()
    return ids


async def started(subscription: Subscription) -> Subscription:
    await subscription.start()
    return subscription


async def ready_is(broker: BrokerUnderTest, queue: str, count: int) -> None:
    async def check() -> bool:
        return await broker.ready(queue) == count

    await eventually(check, f"{count} ready in {queue}")


async def test_a_topic_route_reaches_the_recipient_and_the_tap_only(
    broker: BrokerUnderTest,
) -> None:
    await send(broker, 1, sender=A, to=B)
    assert await broker.ready(queue_of(broker, B)) == 1
    assert await broker.ready(TAP_QUEUE) == 1
    assert await broker.ready(queue_of(broker, A)) == 0
    assert await broker.ready(queue_of(broker, C)) == 0


async def test_a_delivery_carries_what_was_published(broker: BrokerUnderTest) -> None:
    [message_id] = await send(broker, 1)
    subscription = await started(
        broker.subscription(user(broker, B), queue_of(broker, B), prefetch=8)
    )
    try:
        [delivery] = await take(subscription, 1)
        assert delivery.body == b"envelope 0"
        assert delivery.message_id == message_id
        assert delivery.user_id == user(broker, A)
        assert delivery.routing_key == routing_key(MessageKind.REFERRAL, A, B)
        await delivery.settlement.ack()
    finally:
        await subscription.stop()
    await ready_is(broker, queue_of(broker, B), 0)


async def test_unroutable_raises_and_the_publisher_goes_on(broker: BrokerUnderTest) -> None:
    # Only the administrator can send one: the tap takes every key of the messages
    # exchange, and agencies may publish no alert key that alert.# does not take.
    publisher = broker.publisher(ADMIN)
    try:
        with pytest.raises(Unroutable):
            await publisher.publish(
                ALERTS_EXCHANGE, "nobody.listens.here", b"{}", message_id=new_message_id()
            )
        await publisher.publish(
            ALERTS_EXCHANGE, f"alert.reminder.{A}", b"{}", message_id=new_message_id()
        )
    finally:
        await publisher.close()


async def test_a_forged_user_id_is_refused(broker: BrokerUnderTest) -> None:
    publisher = broker.publisher(user(broker, A), user_id=user(broker, C))
    try:
        # Refused, not "unavailable": an operator must act (PRECONDITION_FAILED).
        with pytest.raises(PublishRefused) as refused:
            await publisher.publish(
                MESSAGES_EXCHANGE,
                routing_key(MessageKind.REFERRAL, A, B),
                b"{}",
                message_id=new_message_id(),
            )
    finally:
        await publisher.close()
    assert refused.value.code == 406
    assert await broker.ready(queue_of(broker, B)) == 0


async def test_an_unknown_exchange_is_refused(broker: BrokerUnderTest) -> None:
    publisher = broker.publisher(ADMIN)
    try:
        with pytest.raises(PublishRefused) as refused:
            await publisher.publish("no-such-exchange", "x", b"{}", message_id=new_message_id())
        assert refused.value.code == 404
        # The refusal closed a channel, not the publisher: the next publish goes through.
        await publisher.publish(
            ALERTS_EXCHANGE, f"alert.reminder.{A}", b"{}", message_id=new_message_id()
        )
    finally:
        await publisher.close()


async def test_acked_deliveries_are_gone_even_after_the_consumer_stops(
    broker: BrokerUnderTest,
) -> None:
    ids = await send(broker, 3)
    subscription = await started(
        broker.subscription(user(broker, B), queue_of(broker, B), prefetch=8)
    )
    try:
        taken = await take(subscription, 3)
        assert [d.message_id for d in taken] == ids
        await ack_all(taken)
    finally:
        await subscription.stop()
    await ready_is(broker, queue_of(broker, B), 0)


async def test_a_multiple_ack_covers_every_lower_delivery(broker: BrokerUnderTest) -> None:
    await send(broker, 3)
    subscription = await started(
        broker.subscription(user(broker, B), queue_of(broker, B), prefetch=8)
    )
    try:
        *_, last = await take(subscription, 3)
        await last.settlement.ack(multiple=True)
    finally:
        await subscription.stop()
    await ready_is(broker, queue_of(broker, B), 0)


async def test_unsettled_deliveries_go_back_when_the_consumer_stops(
    broker: BrokerUnderTest,
) -> None:
    ids = await send(broker, 2)
    queue = queue_of(broker, B)
    first = await started(broker.subscription(user(broker, B), queue, prefetch=8))
    try:
        held = await take(first, 2)
    finally:
        await first.stop()
    assert not held[0].settlement.is_open()
    with pytest.raises(BrokerUnavailable):
        await held[0].settlement.ack()
    await ready_is(broker, queue, 2)
    second = await started(broker.subscription(user(broker, B), queue, prefetch=8))
    try:
        again = await take(second, 2)
        assert [d.message_id for d in again] == ids
        await ack_all(again)
    finally:
        await second.stop()


async def test_prefetch_bounds_the_unsettled_deliveries(broker: BrokerUnderTest) -> None:
    ids = await send(broker, 3)
    queue = queue_of(broker, B)
    subscription = await started(broker.subscription(user(broker, B), queue, prefetch=2))
    try:
        first_two = await take(subscription, 2)
        await ready_is(broker, queue, 1)
        await first_two[0].settlement.ack()
        [third] = await take(subscription, 1)
        assert third.message_id == ids[2]
        await ack_all([first_two[1], third])
    finally:
        await subscription.stop()
    await ready_is(broker, queue, 0)


async def dead_letters(broker: BrokerUnderTest, count: int) -> list[Delivery]:
    """Take and ack `count` dead letters (as the operator's user)."""
    subscription = await started(broker.subscription(ADMIN, DEAD_LETTER_QUEUE, prefetch=8))
    try:
        letters = await take(subscription, count)
        await ack_all(letters)
    finally:
        await subscription.stop()
    return letters


async def test_requeued_past_the_delivery_limit_is_dead_lettered(broker: BrokerUnderTest) -> None:
    [message_id] = await send(broker, 1)
    queue = queue_of(broker, B)
    subscription = await started(broker.subscription(user(broker, B), queue, prefetch=8))
    try:
        # Delivered once, then once more per requeue up to the limit: limit + 1 in all,
        # and dead-lettered by the last requeue (the consumer is still there).
        for _ in range(DELIVERY_LIMIT + 1):
            [delivery] = await take(subscription, 1)
            assert delivery.message_id == message_id
            await delivery.settlement.requeue()
        [letter] = await dead_letters(broker, 1)
    finally:
        await subscription.stop()
    await ready_is(broker, queue, 0)
    assert letter.message_id == message_id
    assert letter.routing_key == routing_key(MessageKind.REFERRAL, A, B)
    assert letter.headers["x-first-death-reason"] == "delivery_limit"
    assert letter.headers["x-first-death-queue"] == queue


async def test_a_consumer_that_keeps_dying_counts_towards_the_limit(
    broker: BrokerUnderTest,
) -> None:
    [message_id] = await send(broker, 1)
    queue = queue_of(broker, B)
    for _ in range(DELIVERY_LIMIT + 1):
        subscription = await started(broker.subscription(user(broker, B), queue, prefetch=8))
        try:
            [delivery] = await take(subscription, 1)
            assert delivery.message_id == message_id
        finally:
            await subscription.stop()
    [letter] = await dead_letters(broker, 1)
    assert letter.message_id == message_id
    assert letter.headers["x-first-death-reason"] == "delivery_limit"


async def test_an_explicit_dead_letter_says_rejected(broker: BrokerUnderTest) -> None:
    [message_id] = await send(broker, 1)
    subscription = await started(
        broker.subscription(user(broker, B), queue_of(broker, B), prefetch=8)
    )
    try:
        [delivery] = await take(subscription, 1)
        await delivery.settlement.dead_letter()
    finally:
        await subscription.stop()
    [letter] = await dead_letters(broker, 1)
    assert letter.message_id == message_id
    assert letter.headers["x-first-death-reason"] == "rejected"


async def test_the_tap_delivers_to_one_active_consumer_at_a_time(
    broker: BrokerUnderTest,
) -> None:
    tracker = broker.topology.tracker_user()
    active = await started(broker.subscription(tracker, TAP_QUEUE, prefetch=8))
    standby = await started(broker.subscription(tracker, TAP_QUEUE, prefetch=8))
    try:
        ids = await send(broker, 2)
        held = await take(active, 2)  # round robin would leave one of them to the standby
        assert [d.message_id for d in held] == ids
        await active.stop()
        taken_over = await take(standby, 2)
        assert [d.message_id for d in taken_over] == ids
        await ack_all(taken_over)
    finally:
        await active.stop()
        await standby.stop()
    await ready_is(broker, TAP_QUEUE, 0)


async def test_acking_a_delivery_twice_closes_the_consumer(broker: BrokerUnderTest) -> None:
    await send(broker, 2)
    queue = queue_of(broker, B)
    subscription = await started(broker.subscription(user(broker, B), queue, prefetch=8))
    try:
        first, second = await take(subscription, 2)
        await first.settlement.ack()
        await first.settlement.ack()  # a bug: RabbitMQ closes the channel for it

        async def closed() -> bool:
            return not subscription.alive()

        await eventually(closed, "the consumer closed")
        await ready_is(broker, queue, 1)  # the second went back
        assert not second.settlement.is_open()
    finally:
        await subscription.stop()
