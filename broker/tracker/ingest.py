"""The tracker's intake: verify each header on the tap, store the events, then ack.

The tracker holds no decryption key: it checks the sender's signature and key state against
the directory (`verify_header`) and records only the header's facts. A header that fails is
refused and announced to the coordinators, never applied; the agency's own gateway deals
with the message itself.
"""

import time
import uuid
from collections.abc import Callable, Sequence

from broker.envelope import EnvelopeError, TrustedDirectory, verify_header
from broker.logs import bound_ids, get_logger
from broker.tracker.events import TrackedEvent, event_from_header
from broker.tracker.ports import TrackerStore
from broker.transport.errors import DeliveryError
from broker.transport.publisher import Publisher, publish_alert
from broker.transport.subscription import Delivery, QueueSubscription, ack, ack_all, requeue
from schemas.alert import Alert, refused_envelope_alert
from schemas.ids import well_formed_ids

log = get_logger(__name__)

MAX_BATCH = 512


class TapIngestor:
    """Turns tap deliveries into stored events, a batch (one transaction) at a time."""

    def __init__(
        self,
        *,
        subscription: QueueSubscription,
        directory: TrustedDirectory,
        store: TrackerStore,
        publisher: Publisher,
        coordinators: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscription = subscription
        self._directory = directory
        self._store = store
        self._publisher = publisher
        self._coordinators = tuple(coordinators)
        self._clock = clock

    async def run(self) -> None:
        """Ingest forever; cancel the task to stop."""
        while True:
            await self.ingest(await self.subscription.next_batch(MAX_BATCH))

    async def ingest(self, batch: list[Delivery]) -> None:
        """Verify every header of `batch`, store the valid ones together, settle each delivery."""
        now = self._clock()
        accepted: list[tuple[Delivery, TrackedEvent]] = []
        for delivery in batch:
            try:
                header = verify_header(delivery.body, directory=self._directory, now=int(now))
            except EnvelopeError as error:
                await self._refuse(delivery, error, now)
                continue
            accepted.append((delivery, event_from_header(header)))
        if not accepted:
            return
        try:
            await self._store.ingest([event for _, event in accepted], now)
        except Exception as error:
            log.error(
                "tap batch not stored; requeued", reason=type(error).__name__, count=len(accepted)
            )
            for delivery, _ in accepted:
                await requeue(delivery)
            return
        await ack_all([delivery for delivery, _ in accepted])

    async def _refuse(self, delivery: Delivery, error: EnvelopeError, now: float) -> None:
        # The ids of a refused header are untrusted: bind only those that are well formed.
        with bound_ids(**well_formed_ids(message_id=error.message_id, sender=error.sender)):
            log.warning("header refused", reason=error.reason)
        try:
            for alert in refusal_alerts(error, self._coordinators, now):
                await publish_alert(self._publisher, alert)
        except DeliveryError:
            await requeue(delivery)
            return
        # The tap copy is only the tracker's; the recipient's gateway dead-letters the message.
        await ack(delivery)


def refusal_alerts(error: EnvelopeError, coordinators: Sequence[str], now: float) -> list[Alert]:
    """One `refused` alert per coordinator."""
    return [
        refused_envelope_alert(
            alert_id=str(uuid.uuid4()),
            agency=coordinator,
            reason=error.reason,
            message_id=error.message_id,
            sender=error.sender,
            raised_at=int(now),
        )
        for coordinator in coordinators
    ]
