"""The dead-letter watch alerts the coordinators when the queue is near full, on the
in-memory broker (on RabbitMQ: tests/integration/test_dead_letter_watch.py)."""

import json
from typing import Any

from structlog.testing import capture_logs

from broker.messaging.dead_letter_watch import DeadLetterWatch, Depth
from broker.messaging.errors import BrokerUnavailable
from broker.messaging.port import Publisher
from broker.testing.memory_broker import Message
from broker.testing.memory_clients import InMemoryQueueGauge
from broker.topology.names import ALERTS_QUEUE, DEAD_LETTER_QUEUE, MESSAGES_EXCHANGE
from schemas.alert import Alert, AlertLevel, AlertReason
from schemas.ids import new_message_id
from tests.memory_federation import MemoryFederation, memory_federation

A = "oscc-north"
COORDINATORS = ("police-west", "social-east")
BOUND = 10
HOUR = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def dead_letters(fed: MemoryFederation, count: int) -> None:
    """`count` messages dead-lettered from A's queue, as a rejecting gateway makes them."""
    queue = fed.broker.queues[fed.topology.agency_queue(A)]
    for _ in range(count):
        body, message_id = b"{}", new_message_id()
        message = Message(MESSAGES_EXCHANGE, "referral.a.b", body, message_id, None, None, {})
        fed.broker.dead_letter(queue, message, "rejected")


class SwitchablePublisher:
    """Fails every publish while `down`, then publishes through `real`."""

    def __init__(self, real: Publisher) -> None:
        self.real, self.down, self.attempts = real, True, 0

    async def publish(self, exchange: str, routing_key: str, body: bytes, **kwargs: Any) -> None:
        self.attempts += 1
        if self.down:
            raise BrokerUnavailable("down")
        await self.real.publish(exchange, routing_key, body, **kwargs)

    async def close(self) -> None:
        pass


def watch(fed: MemoryFederation, clock: Clock, **kwargs: object) -> DeadLetterWatch:
    options: dict[str, object] = {
        "gauge": InMemoryQueueGauge(fed.broker),
        "publisher": fed.publisher(fed.topology.tracker_user()),
        "coordinators": COORDINATORS,
        "bound": BOUND,
        "clock": clock,
    }
    options.update(kwargs)
    return DeadLetterWatch(**options)  # type: ignore[arg-type]


def alerts(fed: MemoryFederation) -> list[Alert]:
    return [Alert.model_validate(json.loads(m.body)) for m in fed.broker.messages(ALERTS_QUEUE)]


def test_depth_is_near_full_from_eighty_percent() -> None:
    assert not Depth(79, 100).near_full
    assert Depth(80, 100).near_full
    assert Depth(80, 100).line().startswith("80 of 100 dead letters (80%); near full")
    assert Depth(0, 100).line() == "0 of 100 dead letters (0%)"


async def test_below_eighty_percent_nothing_is_raised() -> None:
    fed, clock = memory_federation(), Clock()
    dead_letters(fed, 7)
    assert await watch(fed, clock).look_once() == 0
    assert alerts(fed) == []


async def test_near_full_alerts_every_coordinator_with_the_figures() -> None:
    fed, clock = memory_federation(), Clock()
    dead_letters(fed, 8)
    assert await watch(fed, clock).look_once() == len(COORDINATORS)
    raised = alerts(fed)
    assert sorted(alert.agency for alert in raised) == sorted(COORDINATORS)
    for alert in raised:
        assert alert.level is AlertLevel.CAPACITY
        assert alert.reason is AlertReason.DEAD_LETTERS_NEAR_FULL
        assert (alert.queue_depth, alert.queue_bound) == (8, BOUND)
        assert alert.raised_at == int(clock.now)


async def test_while_it_stays_near_full_it_reminds_once_an_hour() -> None:
    fed, clock = memory_federation(), Clock()
    dead_letters(fed, 9)
    watcher = watch(fed, clock)
    assert await watcher.look_once() == 2
    clock.now += HOUR - 1
    assert await watcher.look_once() == 0
    clock.now += 1
    assert await watcher.look_once() == 2
    assert len(alerts(fed)) == 4


async def test_an_alert_that_could_not_go_out_is_tried_at_the_next_look() -> None:
    fed, clock = memory_federation(), Clock()
    dead_letters(fed, 10)
    broken = SwitchablePublisher(fed.publisher(fed.topology.tracker_user()))
    watcher = watch(fed, clock, publisher=broken)
    with capture_logs() as logs:
        for _ in range(5):
            assert await watcher.look_once() == 0
    assert broken.attempts == 5
    failures = [line for line in logs if "not alerted" in line["event"]]
    assert len(failures) == 1  # a recurring failure: one line, not one per look
    broken.down = False
    assert await watcher.look_once() == 2


async def test_a_missing_queue_is_one_line_and_no_crash() -> None:
    fed, clock = memory_federation(), Clock()
    del fed.broker.queues[DEAD_LETTER_QUEUE]
    watcher = watch(fed, clock)
    with capture_logs() as logs:
        assert await watcher.look_once() == 0
        assert await watcher.look_once() == 0
    assert [line["reason"] for line in logs] == ["look_refused"]
