"""The outbox relay: publish what the outbox holds, mark it sent only on the broker's confirm.

One loop, so an envelope is never in flight twice from this process. A broker outage pauses
the whole relay with capped backoff and leaves every row due; a message-specific failure
(unroutable, nacked) reschedules that message alone.
"""

import asyncio
import contextlib
import time
from collections.abc import Callable

from broker.gateway.ports import GatewayStore
from broker.gateway.records import OutboxMessage
from broker.logs import get_logger
from broker.transport.backoff import backoff_delay
from broker.transport.errors import BrokerUnavailable, DeliveryError
from broker.transport.names import MESSAGES_EXCHANGE
from broker.transport.publisher import ConfirmedPublisher

log = get_logger(__name__)

IDLE_POLL_S = 1.0


class OutboxRelay:
    """Drains the outbox into RabbitMQ with a bounded window of unconfirmed publishes."""

    def __init__(
        self,
        store: GatewayStore,
        publisher: ConfirmedPublisher,
        *,
        window: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._window = window
        self._clock = clock
        self._wake = asyncio.Event()
        self._outage_attempts = 0
        self.last_error: str | None = None

    def wake(self) -> None:
        """Something new is in the outbox: publish it without waiting for the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop."""
        while True:
            sent_any = await self.drain_once()
            if not sent_any:
                await self._sleep(IDLE_POLL_S)

    async def drain_once(self) -> bool:
        """Publish one window of due messages; True if any was confirmed."""
        self._wake.clear()
        due = await self._store.due(self._clock(), self._window)
        if not due:
            return False
        results = await asyncio.gather(*(self._publish(m) for m in due))
        confirmed = [m.message_id for m, ok in zip(due, results, strict=True) if ok is True]
        if confirmed:
            await self._store.mark_sent(confirmed, self._clock())
        if any(isinstance(r, BrokerUnavailable) for r in results):
            self._outage_attempts += 1
            delay = backoff_delay(self._outage_attempts)
            log.warning(
                "broker unavailable; outbox paused",
                attempt=self._outage_attempts,
                delay_s=round(delay, 2),
                count=len(due) - len(confirmed),
            )
            await self._sleep(delay)
        else:
            self._outage_attempts = 0
            self.last_error = None
        return bool(confirmed)

    async def _publish(self, message: OutboxMessage) -> bool | BrokerUnavailable:
        try:
            await self._publisher.publish(
                MESSAGES_EXCHANGE, message.routing_key, message.envelope,
                message_id=message.message_id,
            )  # fmt: skip
        except BrokerUnavailable as error:
            self.last_error = error.reason
            return error
        except DeliveryError as error:
            attempts = message.attempts + 1
            delay = backoff_delay(attempts)
            self.last_error = error.reason
            log.warning(
                "publish failed; rescheduled",
                message_id=message.message_id,
                reason=error.reason,
                attempt=attempts,
                delay_s=round(delay, 2),
            )
            await self._store.reschedule(message.message_id, attempts, self._clock() + delay)
            return False
        return True

    async def _sleep(self, seconds: float) -> None:
        # Woken early by new outbox entries, but never later than `seconds`.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
