"""One consumer loop for every queue Caselink reads: fetch a batch, hand it over, settle.

A handler works in two steps. `triage` (CPU: opening envelopes, checking signatures)
decides what it can at once and picks out what must be stored; `commit` stores those in
one transaction and says, per delivery, how to settle it. Triage of batch N+1 overlaps
the commit of batch N; commits run in order, one at a time, so a commit's multiple-ack
never covers a delivery still in work.

Settling is done here and only here. Verdicts of a triage are settled one delivery at a
time (an earlier batch may still be committing); those of a commit go requeues and
dead-letters first, then one multiple-ack for the rest.
"""

import asyncio
import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from broker.messaging.port import Delivery, Subscription
from broker.messaging.settle import ack, ack_all, dead_letter, requeue

Work = TypeVar("Work")


class Verdict(enum.Enum):
    """How one delivery is settled."""

    ACK = "ack"
    REQUEUE = "requeue"
    DEAD_LETTER = "dead_letter"


@dataclass
class Triage(Generic[Work]):
    """What a handler made of a batch: verdicts now, and work for the commit."""

    settled: list[tuple[Delivery, Verdict]] = field(default_factory=list)
    to_commit: list[tuple[Delivery, Work]] = field(default_factory=list)


class BatchHandler(Protocol[Work]):
    """The part of a consumer that knows what its messages mean."""

    async def triage(self, batch: Sequence[Delivery]) -> Triage[Work]:
        """Decide what can be decided now; everything else goes to `to_commit`."""

    async def commit(self, work: Sequence[tuple[Delivery, Work]]) -> list[Verdict]:
        """Store `work` (never empty); one verdict per item, in order. Must not raise."""


class BatchConsumer(Generic[Work]):
    """Feeds `subscription`'s deliveries through `handler`; `run` is the loop."""

    def __init__(
        self, subscription: Subscription, handler: BatchHandler[Work], *, max_batch: int
    ) -> None:
        self.subscription = subscription
        self._handler = handler
        self._max_batch = max_batch
        self.committed = 0  # deliveries committed and acked since this consumer was made

    async def run(self) -> None:
        """Consume forever; cancel the task to stop."""
        committing: asyncio.Task[None] | None = None
        try:
            while True:
                batch = await self.subscription.next_batch(self._max_batch)
                triage = await self._handler.triage(batch)
                for delivery, verdict in triage.settled:
                    await _settle_one(delivery, verdict)
                if committing is not None:
                    await committing
                committing = asyncio.create_task(self._commit(triage.to_commit))
        finally:
            if committing is not None:
                committing.cancel()

    async def _commit(self, work: list[tuple[Delivery, Work]]) -> None:
        if not work:
            return
        verdicts = await self._handler.commit(work)
        acked: list[Delivery] = []
        for (delivery, _), verdict in zip(work, verdicts, strict=True):
            if verdict is Verdict.ACK:
                acked.append(delivery)
            else:
                await _settle_one(delivery, verdict)
        await ack_all(acked)
        self.committed += len(acked)


async def _settle_one(delivery: Delivery, verdict: Verdict) -> None:
    match verdict:
        case Verdict.ACK:
            await ack(delivery)
        case Verdict.REQUEUE:
            await requeue(delivery)
        case Verdict.DEAD_LETTER:
            await dead_letter(delivery)
