"""Publishes the alerts the sweep recorded; marks each published only on the broker's confirm.

The alert and the thread's move were committed together by the sweep; this loop is the
outbox half, so a crash between the two neither loses an alert nor repeats one (alert ids
are stable, so a republish after a crash is recognisable downstream). While the broker is
down or refuses, it retries with capped backoff (a few seconds at most), and logs the first
failure, a summary a minute and the recovery (RecurringFailure), not a line per attempt.

Every tracker, standbys included, runs this relay over the shared store, so each batch is
claimed first: leased to this relay for LEASE_S, during which no other relay takes it. A
relay that dies mid-batch leaves leases that expire, and another relay publishes those
alerts then. Delivery stays at least once: a relay killed between the broker's confirms
and marking them published (or stalled past its lease) leaves alerts that are published
again, with the same alert id; the notifier sends one email per alert id.
"""

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable

from broker.background import wait_at_most
from broker.logs import RecurringFailure, get_logger
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S, backoff_delay
from broker.messaging.errors import DeliveryError, PublishRefused
from broker.messaging.port import Publisher
from broker.topology.names import ALERT_CONTENT_TYPE, ALERTS_EXCHANGE
from broker.tracker.escalation import alert_id_of
from broker.tracker.ports import TrackerStore
from broker.tracker.records import LEASE_HOLDER_CHARS

log = get_logger(__name__)

BATCH = 200
IDLE_POLL_S = 1.0
LEASE_S = 30.0
"""How long a claimed batch is this relay's alone: far longer than publishing BATCH alerts
with their confirms takes, and than the clocks of two trackers' hosts differ (each tracker
judges an expiry by its own clock), short enough that a dead relay's alerts go out soon."""


def relay_name() -> str:
    """A name no other relay has (host and process, for whoever reads the leases, and a
    random part: a process id is reused)."""
    unique = f":{os.getpid()}:{uuid.uuid4().hex[:12]}"
    return socket.gethostname()[: LEASE_HOLDER_CHARS - len(unique)] + unique


class AlertRelay:
    """Drains the tracker's alert outbox onto the alerts exchange."""

    def __init__(
        self,
        store: TrackerStore,
        publisher: Publisher,
        clock: Callable[[], float] = time.time,
        *,
        name: str | None = None,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._clock = clock
        self.name = relay_name() if name is None else name
        self._wake = asyncio.Event()
        self._failures = 0
        self._failing = RecurringFailure(log, "alert publishing", clock=clock)

    def wake(self) -> None:
        """New alerts were recorded."""
        self._wake.set()

    async def run(self) -> None:
        """Publish forever; cancel the task to stop."""
        while True:
            self._wake.clear()
            published = await self.publish_pending()
            if not published:
                delay = (
                    backoff_delay(self._failures, cap_s=OUTAGE_MAX_DELAY_S)
                    if self._failures
                    else IDLE_POLL_S
                )
                await wait_at_most(self._wake, delay)

    async def publish_pending(self) -> int:
        """Claim and publish one batch of unpublished alerts; return how many were confirmed.

        The batch's unconfirmed alerts stay leased to this relay: it may claim them again at
        its next try, another relay only once the lease ends.
        """
        pending = await self._store.claim_unpublished_alerts(
            BATCH, self.name, self._clock(), LEASE_S
        )
        confirmed: list[str] = []
        for alert in pending:
            try:
                await self._publisher.publish(
                    ALERTS_EXCHANGE,
                    alert.routing_key,
                    alert.alert_json.encode(),
                    message_id=alert_id_of(alert.key),
                    content_type=ALERT_CONTENT_TYPE,
                )
            except DeliveryError as error:
                self._failures += 1
                refused = error if isinstance(error, PublishRefused) else None
                self._failing.failed(
                    "alert not published; will retry",
                    reason=error.reason,
                    code=refused.code if refused else None,
                    level="error" if refused else "warning",
                    alert_id=alert_id_of(alert.key),
                )
                break
            confirmed.append(alert.key)
        if confirmed:
            self._failures = 0
            self._failing.resolved()
            await self._store.mark_alerts_published(confirmed, self._clock())
        return len(confirmed)
