"""The tracker service: tap intake, deadline sweeps and alert publishing, side by side.

Nothing connects at construction; `start()` does. Several trackers may run: the tap's
single-active-consumer lets a standby take over the intake, and the store's unique alert
keys make concurrent sweeps raise each alert once.
"""

import asyncio
import time
from collections.abc import Callable, Sequence

from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription, keep_subscribed
from broker.background import close_within, stop_tasks
from broker.logs import get_logger
from broker.topology.names import TAP_QUEUE, Topology
from broker.tracker.alert_relay import AlertRelay
from broker.tracker.ingest import TapIngestor
from broker.tracker.ledger import TrackerLedger
from broker.tracker.verifier import HeaderVerifier, SignedDirectory

log = get_logger(__name__)


class TrackerService:
    """Runs the intake, the sweeper and the alert relay over one ledger and its store."""

    def __init__(
        self,
        *,
        ledger: TrackerLedger,
        directory: SignedDirectory,
        amqp_url: str,
        topology: Topology,
        coordinators: Sequence[str],
        prefetch: int = 2048,
        verify_workers: int = 1,
        sweep_interval_s: float = 30.0,
        watchdog_interval_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = ledger.store
        self._ledger = ledger
        self._clock = clock
        self._sweep_interval_s = sweep_interval_s
        self._watchdog_interval_s = watchdog_interval_s
        self._publisher = ConfirmedPublisher(amqp_url, user_id=topology.tracker_user())
        self._verifier = HeaderVerifier(directory, workers=verify_workers)
        self.ingestor = TapIngestor(
            subscription=QueueSubscription(amqp_url, TAP_QUEUE, prefetch=prefetch),
            verifier=self._verifier,
            ledger=ledger,
            publisher=self._publisher,
            coordinators=coordinators,
            clock=clock,
        )
        self.alerts = AlertRelay(ledger.store, self._publisher, clock)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Migrate the store, then run intake, sweeper, alert relay and watchdog."""
        await self.store.create()
        subscription = self.ingestor.subscription
        self._tasks = [
            asyncio.create_task(self.ingestor.run(), name="tap-intake"),
            asyncio.create_task(self._sweep_forever(), name="deadline-sweeper"),
            asyncio.create_task(self.alerts.run(), name="alert-relay"),
            asyncio.create_task(
                keep_subscribed(subscription, self._watchdog_interval_s), name="tap-watchdog"
            ),
        ]
        log.info("tracker started")

    async def stop(self) -> None:
        """Stop the loops, then close connections and the store."""
        await stop_tasks(self._tasks)
        self._tasks = []
        await close_within(self.ingestor.subscription.stop(), "subscription")
        await close_within(self._publisher.close(), "publisher")
        await close_within(self.store.close(), "store")
        await close_within(asyncio.to_thread(self._verifier.close), "header workers")
        log.info("tracker stopped")

    async def sweep_once(self) -> int:
        """One sweep at the current time; returns how many alerts it recorded."""
        recorded = await self._ledger.sweep(int(self._clock()))
        if recorded:
            log.info("alerts recorded", count=len(recorded))
            self.alerts.wake()
        return len(recorded)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception as error:
                log.error("sweep failed; will retry", reason=type(error).__name__)
            await asyncio.sleep(self._sweep_interval_s)

    def consumer_alive(self) -> bool:
        """Whether this tracker holds a consumer on the tap (a standby holds one too)."""
        return self.ingestor.subscription.alive()
