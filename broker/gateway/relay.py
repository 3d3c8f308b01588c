"""The outbox relay: publish what the outbox holds, mark it sent only on the broker's confirm.

Two ways in, one way out. Entries just committed are `offer`ed straight from memory (the
fast path: no envelope is read back from the database); a periodic scan of the outbox
finds everything else (after a restart, an outage, or a rescheduled failure). Both feed one
pipeline of at most `window` unconfirmed publishes; confirmed ids are marked sent in
batches behind it. An id stays in the in-flight set from the moment it is taken until its
`sent_at` is committed, so it is never published twice by this process. A broker outage
pauses the relay with capped backoff and leaves every row due for the scan; a message-
specific failure (unroutable, nacked) reschedules that message alone.
"""

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Sequence

from broker.background import wait_at_most
from broker.gateway.metrics import GatewayCounts
from broker.gateway.ports import GatewayStore
from broker.gateway.records import OutboxMessage
from broker.logs import Failing, RecurringFailure, get_logger
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S, backoff_delay
from broker.messaging.errors import BrokerUnavailable, DeliveryError, PublishRefused
from broker.messaging.port import Publisher
from broker.topology.names import MESSAGES_EXCHANGE

log = get_logger(__name__)

SCAN_INTERVAL_S = 1.0
# The scan leaves alone rows younger than this: they were offered from memory and are, in
# all likelihood, in flight right now; reading their envelopes back would be wasted work.
SCAN_GRACE_S = 5.0


class OutboxRelay:
    """Drains the outbox into RabbitMQ; `run` is the only loop that publishes from it."""

    def __init__(
        self,
        store: GatewayStore,
        publisher: Publisher,
        *,
        window: int,
        counts: GatewayCounts | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._window = window
        self._clock = clock
        self._slots = asyncio.Semaphore(window)
        self._ready: deque[OutboxMessage] = deque()
        self._in_flight: set[str] = set()
        # Held while taking ids (offer, scan) and while marking rows sent: a scan that read
        # rows before a mark_sent commit must not find those ids already gone from in-flight.
        self._bookkeeping = asyncio.Lock()
        self._confirmed: list[str] = []
        self._wake = asyncio.Event()
        self._confirms_waiting = asyncio.Event()
        self._outage_attempts = 0
        self._paused_until = 0.0
        self._next_scan = 0.0
        self._scan_grace_s = 0.0  # the first scan, at start, takes everything due
        self._counts = GatewayCounts() if counts is None else counts
        self._failures = RecurringFailure(log, "outbox publishing", clock=clock)

    @property
    def failing(self) -> Failing | None:
        """The publish failure going on since the last confirmed publish, if any."""
        return self._failures.current

    async def offer(self, entries: Sequence[OutboxMessage]) -> None:
        """Publish these just-committed entries without reading them back from the store."""
        # No lock: nothing here awaits, and a scan reading meanwhile filters by the in-flight
        # set after its read. Waiting for the lock would hold the caller (the group commit,
        # the inbox's ack) behind the relay's own mark_sent commit.
        for entry in entries:
            if entry.message_id not in self._in_flight:
                self._in_flight.add(entry.message_id)
                self._ready.append(entry)
        self._wake.set()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop."""
        marker = asyncio.create_task(self._mark_confirmed(), name="outbox-marker")
        try:
            while True:
                await self._pause_if_broker_down()
                self._wake.clear()
                if self._clock() >= self._next_scan:
                    await self._scan()
                if self._ready:
                    await self._start_ready()
                else:
                    await self._sleep(max(0.0, self._next_scan - self._clock()))
        finally:
            marker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await marker

    async def _scan(self) -> None:
        now = self._clock()
        async with self._bookkeeping:
            limit = self._window + len(self._in_flight)
            candidates = await self._store.due(now - self._scan_grace_s, limit)
            taken = [m for m in candidates if m.message_id not in self._in_flight]
            self._in_flight.update(m.message_id for m in taken)
            self._ready.extend(taken)
        self._scan_grace_s = SCAN_GRACE_S
        # Found a backlog (recovery): scan again as soon as this part is on its way.
        self._next_scan = now if taken else now + SCAN_INTERVAL_S

    async def _start_ready(self) -> None:
        while self._ready:
            await self._slots.acquire()
            if self._clock() < self._paused_until:
                self._slots.release()
                self._drop_ready()
                return
            message = self._ready.popleft()
            asyncio.create_task(self._publish(message))  # noqa: RUF006 - tracked by in-flight set

    def _drop_ready(self) -> None:
        # During an outage they stay due in the store; the scan after it takes them again.
        while self._ready:
            self._in_flight.discard(self._ready.popleft().message_id)

    async def _publish(self, message: OutboxMessage) -> None:
        confirmed = False
        try:
            if message.envelope is None:
                return  # erased before it was sent: never published (`due` skips it too)
            await self._publisher.publish(
                MESSAGES_EXCHANGE,
                message.routing_key,
                message.envelope,
                message_id=message.message_id,
            )
            confirmed = True
        except (BrokerUnavailable, PublishRefused) as error:
            self._note_outage(error, message)
        except DeliveryError as error:
            await self._reschedule(message, error)
        finally:
            self._slots.release()
            if confirmed:
                self._outage_attempts = 0
                self._counts.published += 1
                self._failures.resolved()
                self._confirmed.append(message.message_id)
                self._confirms_waiting.set()
            else:
                self._in_flight.discard(message.message_id)

    async def _mark_confirmed(self) -> None:
        # Marks in batches: one commit covers every confirm that arrived meanwhile.
        while True:
            await self._confirms_waiting.wait()
            self._confirms_waiting.clear()
            async with self._bookkeeping:
                batch, self._confirmed = self._confirmed, []
                try:
                    await self._store.mark_sent(batch, self._clock())
                except Exception as error:
                    # Not marked: they stay due and will be published again (at-least-once).
                    log.error(
                        "could not mark confirmed messages",
                        reason=type(error).__name__,
                        count=len(batch),
                    )
                finally:
                    self._in_flight.difference_update(batch)

    async def _reschedule(self, message: OutboxMessage, error: DeliveryError) -> None:
        attempts = message.attempts + 1
        delay = backoff_delay(attempts)
        self._counts.publish_failed += 1
        self._failures.failed(
            "publish failed; rescheduled",
            reason=error.reason,
            message_id=message.message_id,
            attempt=attempts,
            delay_s=round(delay, 2),
        )
        await self._store.reschedule(message.message_id, attempts, self._clock() + delay)

    def _note_outage(
        self, error: BrokerUnavailable | PublishRefused, message: OutboxMessage
    ) -> None:
        refused = isinstance(error, PublishRefused)
        if refused:
            self._counts.publish_refused += 1
        else:
            self._counts.publish_failed += 1
        if self._clock() < self._paused_until:
            return  # this outage is already counted
        self._outage_attempts += 1
        delay = backoff_delay(self._outage_attempts, cap_s=OUTAGE_MAX_DELAY_S)
        self._paused_until = self._clock() + delay
        # After the outage, scan at once and without grace: everything unsent is due again.
        self._next_scan = self._paused_until
        self._scan_grace_s = 0.0
        self._failures.failed(
            "publish refused by the broker; outbox paused"
            if refused
            else "broker unavailable; outbox paused",
            reason=error.reason,
            code=error.code if isinstance(error, PublishRefused) else None,
            level="error" if refused else "warning",
            message_id=message.message_id,
            attempt=self._outage_attempts,
            delay_s=round(delay, 2),
        )

    async def _pause_if_broker_down(self) -> None:
        remaining = self._paused_until - self._clock()
        if remaining > 0:
            await asyncio.sleep(remaining)

    async def _sleep(self, seconds: float) -> None:
        # Woken early by offers, but never later than `seconds`.
        await wait_at_most(self._wake, seconds)
