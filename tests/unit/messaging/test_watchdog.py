"""The watchdog re-subscribes; a broker that stays away costs one log line, not one a try."""

import asyncio
import contextlib

from structlog.testing import capture_logs

from broker.messaging.errors import BrokerUnavailable, SubscribeRefused
from broker.messaging.port import Delivery
from broker.messaging.watchdog import keep_subscribed


class FlakySubscription:
    """Fails `failures` starts with `error`, then subscribes."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error = failures, error
        self.starts = 0
        self.subscribed = False

    async def start(self) -> None:
        self.starts += 1
        if self.starts <= self.failures:
            raise self.error
        self.subscribed = True

    def alive(self) -> bool:
        return self.subscribed

    async def next_batch(self, max_size: int) -> list[Delivery]:
        raise NotImplementedError

    async def stop(self) -> None:
        self.subscribed = False


async def watch_until_subscribed(subscription: FlakySubscription) -> None:
    task = asyncio.create_task(keep_subscribed(subscription, 0.001))
    try:
        async with asyncio.timeout(10):
            while not subscription.alive():  # noqa: ASYNC110 - the fake has no event
                await asyncio.sleep(0.001)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_fifty_failed_attempts_write_two_lines() -> None:
    subscription = FlakySubscription(50, BrokerUnavailable("connection refused"))
    with capture_logs() as lines:
        await watch_until_subscribed(subscription)
    assert subscription.starts == 51
    assert [(line["event"], line["reason"]) for line in lines] == [
        ("consumer not subscribed; will retry", "broker_unavailable"),
        ("consumer subscription: recovered", "broker_unavailable"),
    ]
    assert lines[1]["count"] == 50
    assert not any("exc_info" in line for line in lines)


async def test_a_refused_consumer_says_so_with_its_code() -> None:
    subscription = FlakySubscription(3, SubscribeRefused("not this user's queue", code=403))
    with capture_logs() as lines:
        await watch_until_subscribed(subscription)
    assert (lines[0]["reason"], lines[0]["code"]) == ("subscribe_refused", 403)
    assert len(lines) == 2


async def test_the_first_subscription_is_logged_once() -> None:
    subscription = FlakySubscription(0, BrokerUnavailable("unused"))
    with capture_logs() as lines:
        await watch_until_subscribed(subscription)
    assert [line["event"] for line in lines] == ["consumer subscribed"]
