"""Keeping a subscription subscribed: check it is alive, subscribe again when it is not."""

import asyncio
import time
from collections.abc import Callable

from broker.errors import CaselinkError
from broker.logs import RecurringFailure, get_logger
from broker.messaging.errors import SubscribeRefused
from broker.messaging.port import Subscription

log = get_logger(__name__)


async def keep_subscribed(
    subscription: Subscription, interval_s: float, *, clock: Callable[[], float] = time.time
) -> None:
    """Re-subscribe whenever the consumer is gone; run as a task, cancel to stop.

    While the broker is down every attempt fails: the first failure is logged, then one
    summary a minute (RecurringFailure), then one line when the consumer is back.
    """
    failures = RecurringFailure(log, "consumer subscription", clock=clock)
    while True:
        if not subscription.alive():
            try:
                await subscription.start()
            except Exception as error:
                reason = error.reason if isinstance(error, CaselinkError) else type(error).__name__
                failures.failed(
                    "consumer not subscribed; will retry",
                    reason=reason,
                    code=error.code if isinstance(error, SubscribeRefused) else None,
                )
            else:
                if failures.current is None:
                    log.info("consumer subscribed")
                failures.resolved()
        await asyncio.sleep(interval_s)
