"""The tracker service: tap intake, deadline sweeps and alert publishing, side by side.

It receives its store, broker (the port's publisher and subscriptions) and header verifier
ready-made from the composition root (broker.app.tracker). Nothing connects at
construction; `start()` does. Three subscriptions: the tap and its overflow (what a full
tap dropped: caught up the same way, in any order, since a thread's state does not depend
on arrival order), and the lost queue (what the overflow dropped in turn: reported by
`gaps`). Given a queue gauge, it also watches the dead-letter queue
(broker.messaging.dead_letter_watch: a `capacity` alert when near full). Several trackers
may run: the queues' single-active-consumer lets a standby take over, and the store's
unique alert keys make concurrent sweeps raise each alert once.
"""

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from broker.background import close_within, stop_tasks
from broker.envelope import DirectoryError, TrustedDirectory
from broker.live_directory import POLL_S, DirectoryFile, LiveDirectory, LoadedDirectory
from broker.logs import get_logger
from broker.messaging.alerts import announce_directory_refused
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.dead_letter_watch import LOOK_EVERY_S, DeadLetterWatch
from broker.messaging.port import Publisher, QueueGauge, Subscription
from broker.messaging.watchdog import keep_subscribed
from broker.topology.names import Topology
from broker.tracker.alert_relay import AlertRelay
from broker.tracker.events import TrackedEvent
from broker.tracker.gaps import MAX_BATCH as GAP_BATCH
from broker.tracker.gaps import GapReporter
from broker.tracker.ingest import MAX_BATCH, HeaderChecker, TapIngestor
from broker.tracker.ledger import TrackerLedger
from broker.tracker.verifier import SignedDirectory

log = get_logger(__name__)


class DirectoryChecker(HeaderChecker, Protocol):
    """A HeaderChecker whose directory can be renewed: `HeaderVerifier`."""

    directory: TrustedDirectory

    def use_directory(self, source: SignedDirectory, trusted: TrustedDirectory) -> None:
        """Check later batches against `source` (verified: `trusted`)."""


class TrackerService:
    """Runs the intake, the sweeper and the alert relay over one ledger and its store."""

    def __init__(
        self,
        *,
        ledger: TrackerLedger,
        verifier: DirectoryChecker,
        publisher: Publisher,
        subscription: Subscription,
        overflow: Subscription,
        lost: Subscription,
        topology: Topology,
        sweep_interval_s: float = 30.0,
        watchdog_interval_s: float = 2.0,
        directory_file: DirectoryFile | None = None,
        directory_poll_s: float = POLL_S,
        gauge: QueueGauge | None = None,
        dead_letter_look_s: float = LOOK_EVERY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = ledger.store
        self._ledger = ledger
        self._clock = clock
        self._sweep_interval_s = sweep_interval_s
        self._watchdog_interval_s = watchdog_interval_s
        self._publisher = publisher
        self._verifier: DirectoryChecker = verifier
        ingestor = TapIngestor(
            verifier=verifier,
            ledger=ledger,
            publisher=publisher,
            coordinators=ledger.coordinators,
            topology=topology,
            clock=clock,
        )
        self.intake: BatchConsumer[TrackedEvent] = BatchConsumer(
            subscription, ingestor, max_batch=MAX_BATCH
        )
        self.catch_up: BatchConsumer[TrackedEvent] = BatchConsumer(
            overflow, ingestor, max_batch=MAX_BATCH
        )
        gaps = GapReporter(
            verifier=verifier,
            publisher=publisher,
            coordinators=ledger.coordinators,
            topology=topology,
            clock=clock,
        )
        self.gaps: BatchConsumer[None] = BatchConsumer(lost, gaps, max_batch=GAP_BATCH)
        self.alerts = AlertRelay(ledger.store, publisher, clock)
        self.dead_letters = (
            None
            if gauge is None
            else DeadLetterWatch(
                gauge=gauge,
                publisher=publisher,
                coordinators=ledger.coordinators,
                bound=topology.limits.dead_letters,
                look_every_s=dead_letter_look_s,
                clock=clock,
            )
        )
        # Refuses a directory older than the store's at start; follows directory_file.
        self.directory = LiveDirectory(
            verifier.directory,
            ledger.store,
            self._use_directory,
            source=directory_file,
            on_refused=self._directory_refused,
            interval_s=directory_poll_s,
            clock=clock,
        )
        self._tasks: list[asyncio.Task[None]] = []

    def _subscriptions(self) -> list[Subscription]:
        return [self.intake.subscription, self.catch_up.subscription, self.gaps.subscription]

    async def start(self) -> None:
        """Migrate the store, refuse an older directory (DirectoryRollback), then run intakes,
        sweeper, alert relay, watchdogs, the directory's watch and the dead-letter watch."""
        await self.store.create()
        await self.directory.start()
        self._tasks = [
            asyncio.create_task(self.intake.run(), name="tap-intake"),
            asyncio.create_task(self.catch_up.run(), name="tap-overflow-intake"),
            asyncio.create_task(self.gaps.run(), name="tap-gap-reporter"),
            asyncio.create_task(self._sweep_forever(), name="deadline-sweeper"),
            asyncio.create_task(self.alerts.run(), name="alert-relay"),
            *(
                asyncio.create_task(
                    keep_subscribed(subscription, self._watchdog_interval_s), name="watchdog"
                )
                for subscription in self._subscriptions()
            ),
            asyncio.create_task(self.directory.run(), name="directory-watch"),
        ]
        if self.dead_letters is not None:
            self._tasks.append(
                asyncio.create_task(self.dead_letters.run(), name="dead-letter-watch")
            )
        log.info("tracker started")

    async def stop(self) -> None:
        """Stop the loops, then close connections and the store."""
        await stop_tasks(self._tasks)
        self._tasks = []
        for subscription in self._subscriptions():
            await close_within(subscription.stop(), "subscription")
        await close_within(self._publisher.close(), "publisher")
        await close_within(self.store.close(), "store")
        await close_within(asyncio.to_thread(self._verifier.close), "header workers")
        log.info("tracker stopped")

    def _use_directory(self, loaded: LoadedDirectory) -> None:
        source = SignedDirectory(loaded.signed, loaded.root_public)
        self._verifier.use_directory(source, loaded.trusted)

    async def _directory_refused(self, error: DirectoryError) -> None:
        coordinators = self._ledger.coordinators
        await announce_directory_refused(self._publisher, coordinators, error.reason, self._clock())

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
        """Whether this tracker holds a consumer on each of its three queues (a standby
        holds them too)."""
        return all(subscription.alive() for subscription in self._subscriptions())
