"""Keeping a subscription subscribed: check it is alive, subscribe again when it is not."""

import asyncio

from broker.logs import get_logger
from broker.messaging.port import Subscription

log = get_logger(__name__)


async def keep_subscribed(subscription: Subscription, interval_s: float) -> None:
    """Re-subscribe whenever the consumer is gone; run as a task, cancel to stop."""
    while True:
        if not subscription.alive():
            try:
                await subscription.start()
                log.info("consumer subscribed")
            except Exception as error:
                log.warning("consumer not subscribed; will retry", reason=type(error).__name__)
        await asyncio.sleep(interval_s)
