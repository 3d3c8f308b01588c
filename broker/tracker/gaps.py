"""The tracker's record of what it missed: the tap's lost queue, turned into `missed` alerts.

A full tap never refuses a publish (that would hold up the agencies): it drops its oldest
message into the overflow queue, which the tracker drains like the tap, and the overflow
drops its oldest into the lost queue, which keeps only the latest. So a message read from
the lost queue means the tracker missed at least that one, and maybe more before it.
What the lost queue's batch consumer (broker.messaging.batch_consumer) does with a batch:
- one `missed` alert (reason tap_gap) to every coordinator, naming the ids of the latest
  message of the batch whose header verifies and whose AMQP user_id is its signed sender's
  user (the intake's rule, broker.messaging.publisher_check; none when none is), then ack all;
- the alert not published: requeue all (the queue has no delivery limit, and while they
  wait it still keeps the latest missed message).
At most one alert per `min_interval_s`: a batch that comes sooner waits, and the queue
meanwhile collapses whatever else is lost into its one latest message, so a tap that
overflows for hours raises an alert every few minutes, not one per message.
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

from broker.logs import get_logger
from broker.messaging.alerts import publish_alert
from broker.messaging.batch_consumer import Triage, Verdict
from broker.messaging.errors import DeliveryError
from broker.messaging.port import Delivery, Publisher
from broker.messaging.publisher_check import SenderMismatch, check_sender
from broker.topology.names import Topology
from broker.tracker.events import TrackedEvent
from broker.tracker.ingest import HeaderChecker
from schemas.alert import Alert, tap_gap_alert

log = get_logger(__name__)

MAX_BATCH = 64
MIN_INTERVAL_S = 300.0


class GapReporter:
    """The batch handler of the lost queue; see the module for the rules."""

    def __init__(
        self,
        *,
        verifier: HeaderChecker,
        publisher: Publisher,
        coordinators: Sequence[str],
        topology: Topology,
        min_interval_s: float = MIN_INTERVAL_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._verifier = verifier
        self._publisher = publisher
        self._coordinators = tuple(coordinators)
        self._topology = topology
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._sleep = sleep
        self._last_alert_at: float | None = None

    async def triage(self, batch: Sequence[Delivery]) -> Triage[None]:
        """Alert about the batch and settle it; nothing is left for a commit."""
        if self._last_alert_at is not None:
            wait = self._last_alert_at + self._min_interval_s - self._clock()
            if wait > 0:
                await self._sleep(wait)
        now = self._clock()
        latest = await self._latest_verified(batch, now)
        triage: Triage[None] = Triage()
        try:
            for alert in gap_alerts(latest, self._coordinators, now):
                await publish_alert(self._publisher, alert)
        except DeliveryError as error:
            log.error("missed messages not alerted; requeued", reason=error.reason)
            triage.settled = [(delivery, Verdict.REQUEUE) for delivery in batch]
            return triage
        self._last_alert_at = now
        log.warning("the tracker missed messages; alerted", count=len(batch))
        triage.settled = [(delivery, Verdict.ACK) for delivery in batch]
        return triage

    async def commit(self, work: Sequence[tuple[Delivery, None]]) -> list[Verdict]:
        """Never called: triage settles every delivery."""
        return [Verdict.ACK] * len(work)

    async def _latest_verified(self, batch: Sequence[Delivery], now: float) -> TrackedEvent | None:
        # Without a user_id the broker vouches for no publisher: such a message names nothing.
        published = [(d.body, d.user_id) for d in batch if d.user_id is not None]
        try:
            checks = await self._verifier.check([body for body, _ in published], int(now))
        except Exception as error:  # the ids are a courtesy: the alert goes without them
            log.warning("missed messages not checked", reason=type(error).__name__)
            return None
        events = [
            check
            for (_, publisher), check in zip(published, checks, strict=True)
            if isinstance(check, TrackedEvent) and self._published_by_sender(publisher, check)
        ]
        return events[-1] if events else None

    def _published_by_sender(self, publisher: str, event: TrackedEvent) -> bool:
        # Another agency replaying a signed envelope must not get its ids into an alert.
        try:
            check_sender(publisher, event.sender, event.message_id, self._topology)
        except SenderMismatch:
            return False
        return True


def gap_alerts(latest: TrackedEvent | None, coordinators: Sequence[str], now: float) -> list[Alert]:
    """One `missed` alert per coordinator, naming `latest` when there is one."""
    if latest is None:
        return [
            tap_gap_alert(alert_id=str(uuid.uuid4()), agency=coordinator, raised_at=int(now))
            for coordinator in coordinators
        ]
    return [
        tap_gap_alert(
            alert_id=str(uuid.uuid4()),
            agency=coordinator,
            raised_at=int(now),
            message_id=latest.message_id,
            thread_id=latest.thread_id,
            kind=latest.kind,
            sender=latest.sender,
            recipient=latest.recipient,
        )
        for coordinator in coordinators
    ]
