"""The tracker's intake: verify each header on the tap, store the events, then ack.

What the tap's batch consumer (broker.messaging.batch_consumer) does with each batch:
- header verified, published by its signed sender, and event stored (new or a redelivery;
  or refused by the ledger for its thread, see `broker.tracker.parties`): ack;
- no AMQP user_id (checked before the header), a header refused, or a user_id that is not
  the signed sender's user: an alert to every coordinator, then ack (never applied);
- checking or storing failed, or an alert not published: requeue, so the quorum queue's
  delivery limit moves a poison message on instead of blocking the tap: from the tap to its
  overflow, which this same intake drains (a second chance), and from there to the lost
  queue (reported by `gaps`).

The tracker holds no decryption key: it checks the sender's signature and key state against
the directory (in worker processes, `HeaderVerifier`) and records only the header's facts.
A header that fails is refused and announced to the coordinators, never applied; the
agency's own gateway deals with the message itself.
"""

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Protocol

from broker.logs import bound_ids, get_logger
from broker.messaging.alerts import publish_alert
from broker.messaging.batch_consumer import Triage, Verdict
from broker.messaging.errors import DeliveryError
from broker.messaging.port import Delivery, Publisher
from broker.messaging.publisher_check import (
    SenderMismatch,
    SenderUnauthenticated,
    authenticated_publisher,
    check_sender,
)
from broker.topology.names import Topology
from broker.tracker.events import TrackedEvent
from broker.tracker.ledger import TrackerLedger
from broker.tracker.verifier import HeaderCheck, RefusedHeader
from schemas.alert import Alert, refused_envelope_alert
from schemas.ids import well_formed_ids

log = get_logger(__name__)

# A quarter of the default prefetch: the next batches arrive while one is checked and stored.
MAX_BATCH = 512


class HeaderChecker(Protocol):
    """Checks headers against the directory: `HeaderVerifier` (worker processes) in service."""

    async def check(self, envelopes: Sequence[bytes], now: int) -> list[HeaderCheck]:
        """Per envelope, in order: its event, or why it was refused."""

    def close(self) -> None:
        """Release what the checks run on."""


class TapIngestor:
    """The batch handler of the tap: headers checked in the workers, events stored in one go."""

    def __init__(
        self,
        *,
        verifier: HeaderChecker,
        ledger: TrackerLedger,
        publisher: Publisher,
        coordinators: Sequence[str],
        topology: Topology,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = verifier
        self._topology = topology
        self._ledger = ledger
        self._publisher = publisher
        self._coordinators = tuple(coordinators)
        self._clock = clock

    async def triage(self, batch: Sequence[Delivery]) -> Triage[TrackedEvent]:
        """Verify every header of `batch`; refusals get their verdict, the rest are stored."""
        now = self._clock()
        triage: Triage[TrackedEvent] = Triage()
        published: list[tuple[Delivery, str]] = []
        for delivery in batch:
            try:
                published.append((delivery, authenticated_publisher(delivery.user_id)))
            except SenderUnauthenticated as error:
                refused = RefusedHeader(error.reason, None, None)  # not parsed: no ids known
                triage.settled.append((delivery, await self._refuse(refused, now)))
        try:
            checks = await self._verifier.check([d.body for d, _ in published], int(now))
        except Exception as error:
            log.error("tap batch not checked; requeued", reason=type(error).__name__)
            triage.settled += [(delivery, Verdict.REQUEUE) for delivery, _ in published]
            return triage
        for (delivery, publisher), verified in zip(published, checks, strict=True):
            check = self._published_by_sender(verified, publisher)
            if isinstance(check, RefusedHeader):
                triage.settled.append((delivery, await self._refuse(check, now)))
            else:
                triage.to_commit.append((delivery, check))
        return triage

    async def commit(self, work: Sequence[tuple[Delivery, TrackedEvent]]) -> list[Verdict]:
        """Store the events in one transaction: all acked, or all requeued."""
        try:
            await self._ledger.ingest([event for _, event in work], self._clock())
        except Exception as error:
            log.error(
                "tap batch not stored; requeued", reason=type(error).__name__, count=len(work)
            )
            return [Verdict.REQUEUE] * len(work)
        return [Verdict.ACK] * len(work)

    def _published_by_sender(self, check: HeaderCheck, publisher: str) -> HeaderCheck:
        # The signature says who wrote the header; the broker's user_id says who published
        # it. A member replaying another agency's envelope is refused here.
        if isinstance(check, RefusedHeader):
            return check
        try:
            check_sender(publisher, check.sender, check.message_id, self._topology)
        except SenderMismatch as error:
            return RefusedHeader(error.reason, check.message_id, check.sender)
        return check

    async def _refuse(self, refused: RefusedHeader, now: float) -> Verdict:
        # The ids of a refused header are untrusted: bind only those that are well formed.
        with bound_ids(**well_formed_ids(message_id=refused.message_id, sender=refused.sender)):
            log.warning("header refused", reason=refused.reason)
        try:
            for alert in refusal_alerts(refused, self._coordinators, now):
                await publish_alert(self._publisher, alert)
        except DeliveryError:
            return Verdict.REQUEUE
        # The tap copy is only the tracker's; the recipient's gateway dead-letters the message.
        return Verdict.ACK


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
