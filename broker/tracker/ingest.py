"""The tracker's intake: verify each header on the tap, store the events, then ack.

The tracker holds no decryption key: it checks the sender's signature and key state against
the directory (in worker processes, `HeaderVerifier`) and records only the header's facts.
A header that fails is refused and announced to the coordinators, never applied; the
agency's own gateway deals with the message itself.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence

from broker.amqp.publisher import Publisher, publish_alert
from broker.amqp.subscription import Delivery, QueueSubscription, ack, ack_all, requeue
from broker.logs import bound_ids, get_logger
from broker.messaging.errors import DeliveryError
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.verifier import HeaderVerifier, RefusedHeader
from schemas.alert import Alert, refused_envelope_alert
from schemas.ids import well_formed_ids

log = get_logger(__name__)

# A quarter of the default prefetch: the next batches arrive while one is checked and stored.
MAX_BATCH = 512

Accepted = list[tuple[Delivery, TrackedEvent]]


class TapIngestor:
    """Turns tap deliveries into stored events, a batch (one transaction) at a time."""

    def __init__(
        self,
        *,
        subscription: QueueSubscription,
        verifier: HeaderVerifier,
        ledger: TrackerLedger,
        publisher: Publisher,
        coordinators: Sequence[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.subscription = subscription
        self._verifier = verifier
        self._ledger = ledger
        self._publisher = publisher
        self._coordinators = tuple(coordinators)
        self._clock = clock
        self.events_stored = 0  # new or not: every event this intake has stored and acked

    async def run(self) -> None:
        """Ingest forever; cancel the task to stop.

        Checking batch N+1 (in the worker processes) overlaps with storing batch N;
        batches are stored in order, one at a time.
        """
        storing: asyncio.Task[None] | None = None
        try:
            while True:
                accepted = await self.check(await self.subscription.next_batch(MAX_BATCH))
                if storing is not None:
                    await storing
                storing = asyncio.create_task(self.store_and_ack(accepted))
        finally:
            if storing is not None:
                storing.cancel()

    async def check(self, batch: list[Delivery]) -> Accepted:
        """Verify every header of `batch`; refusals are settled here, the rest returned."""
        now = self._clock()
        try:
            checks = await self._verifier.check([d.body for d in batch], int(now))
        except Exception as error:
            log.error("tap batch not checked; requeued", reason=type(error).__name__)
            for delivery in batch:
                await requeue(delivery)
            return []
        accepted: Accepted = []
        for delivery, check in zip(batch, checks, strict=True):
            if isinstance(check, RefusedHeader):
                await self._refuse(delivery, check, now)
            else:
                accepted.append((delivery, check))
        return accepted

    async def store_and_ack(self, accepted: Accepted) -> None:
        """Store the events in one transaction, then ack their deliveries."""
        if not accepted:
            return
        try:
            await self._ledger.ingest([event for _, event in accepted], self._clock())
        except Exception as error:
            log.error(
                "tap batch not stored; requeued", reason=type(error).__name__, count=len(accepted)
            )
            for delivery, _ in accepted:
                await requeue(delivery)
            return
        await ack_all([delivery for delivery, _ in accepted])
        self.events_stored += len(accepted)

    async def _refuse(self, delivery: Delivery, refused: RefusedHeader, now: float) -> None:
        # The ids of a refused header are untrusted: bind only those that are well formed.
        with bound_ids(**well_formed_ids(message_id=refused.message_id, sender=refused.sender)):
            log.warning("header refused", reason=refused.reason)
        try:
            for alert in refusal_alerts(refused, self._coordinators, now):
                await publish_alert(self._publisher, alert)
        except DeliveryError:
            await requeue(delivery)
            return
        # The tap copy is only the tracker's; the recipient's gateway dead-letters the message.
        await ack(delivery)


def refusal_alerts(refused: RefusedHeader, coordinators: Sequence[str], now: float) -> list[Alert]:
    """One `refused` alert per coordinator."""
    return [
        refused_envelope_alert(
            alert_id=str(uuid.uuid4()),
            agency=coordinator,
            reason=refused.reason,
            message_id=refused.message_id,
            sender=refused.sender,
            raised_at=int(now),
        )
        for coordinator in coordinators
    ]
