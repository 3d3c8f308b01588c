"""The dead-letter watch on RabbitMQ, as the tracker's own user: a passive look at the queue's
depth (no configure permission needed) and a `capacity` alert to the coordinators."""

import json
from pathlib import Path

import pytest

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.queue_gauge import AmqpQueueGauge
from broker.messaging.dead_letter_watch import DeadLetterWatch
from broker.messaging.errors import BrokerUnavailable, QueueLookRefused
from broker.topology.names import ALERTS_QUEUE, DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE, QueueLimits
from schemas.alert import Alert, AlertReason
from tests.integration.amqp_helpers import connect, publish
from tests.integration.rabbit_federation import Federation, applied_federation

pytestmark = pytest.mark.rabbitmq

BOUND = 5
COORDINATORS = ("police-west", "oscc-north")


async def dead_letter(fed: Federation, count: int) -> None:
    for _ in range(count):
        await publish(fed.admin_url(), DEAD_LETTER_EXCHANGE, "", user_id=None)


async def alerts_waiting(fed: Federation) -> list[Alert]:
    found: list[Alert] = []
    async with await connect(fed.admin_url()) as connection:
        channel = await connection.channel()
        queue = await channel.get_queue(ALERTS_QUEUE, ensure=False)
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            found.append(Alert.model_validate(json.loads(message.body)))
    return found


async def test_the_tracker_user_sees_the_queue_fill_and_alerts_near_full(tmp_path: Path) -> None:
    with applied_federation(
        tmp_path / "secrets.json", limits=QueueLimits(dead_letters=BOUND)
    ) as fed:
        publisher = ConfirmedPublisher(fed.tracker_url(), user_id=fed.topology.tracker_user())
        watch = DeadLetterWatch(
            gauge=AmqpQueueGauge(fed.tracker_url()),
            publisher=publisher,
            coordinators=COORDINATORS,
            bound=BOUND,
        )
        try:
            await dead_letter(fed, 3)
            assert await watch.look_once() == 0  # 60 %
            await dead_letter(fed, 1)
            assert await watch.look_once() == len(COORDINATORS)  # 80 %
        finally:
            await publisher.close()
        raised = await alerts_waiting(fed)
    assert sorted(alert.agency for alert in raised) == sorted(COORDINATORS)
    assert {(a.reason, a.queue_depth, a.queue_bound) for a in raised} == {
        (AlertReason.DEAD_LETTERS_NEAR_FULL, 4, BOUND)
    }


async def test_a_look_at_a_missing_queue_or_a_broker_away_is_a_typed_error(
    tmp_path: Path,
) -> None:
    with applied_federation(tmp_path / "secrets.json") as fed:
        with pytest.raises(QueueLookRefused) as refused:
            await AmqpQueueGauge(fed.tracker_url()).depth("no-such-queue")
        assert refused.value.code == 404
        assert await AmqpQueueGauge(fed.tracker_url()).depth(DEAD_LETTER_QUEUE) == 0
    with pytest.raises(BrokerUnavailable):
        await AmqpQueueGauge("amqp://guest:guest@127.0.0.1:1/").depth(DEAD_LETTER_QUEUE)
