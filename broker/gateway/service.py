"""One agency's gateway: store, sealer, relay, inbox consumer and watchdog, side by side.

It receives its store and its broker (the port's publisher and subscription) ready-made
from the composition root (broker.app.gateway) and builds nothing that does I/O. Nothing
connects at construction; `start()` does, and the gateway keeps accepting work into its
outbox while the broker is down.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel

from broker.background import close_within, stop_tasks
from broker.envelope import AgencyKeys, TrustedDirectory
from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.group_commit import OutboxWriter
from broker.gateway.lifecycle import ack_status_to_state
from broker.gateway.metrics import GatewayMetrics
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import InboxMessage, OutboxMessage
from broker.gateway.relay import OutboxRelay
from broker.logs import Failing, bound_ids, get_logger
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.port import Publisher, Subscription
from broker.messaging.watchdog import keep_subscribed
from broker.topology.names import Topology
from schemas.acknowledgement import Acknowledgement
from schemas.ids import new_thread_id
from schemas.kinds import MessageKind

log = get_logger(__name__)


@dataclass(frozen=True)
class Health:
    """What /healthz reports: is the consumer subscribed, do publishes go through.

    `last_publish_error` is the publish failure going on (its reason, since when, how many
    attempts): it is cleared by the next confirmed publish.
    """

    consumer_alive: bool
    outbox_pending: int
    last_publish_error: Failing | None

    @property
    def status(self) -> str:
        """ok; consumer_down (the watchdog is on it); degraded (publishes fail)."""
        if not self.consumer_alive:
            return "consumer_down"
        return "ok" if self.last_publish_error is None else "degraded"

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Gateway:
    """The runtime of one agency; `submit` and `respond` are what its HTTP API calls."""

    def __init__(
        self,
        *,
        keys: AgencyKeys,
        directory: TrustedDirectory,
        store: GatewayStore,
        publisher: Publisher,
        subscription: Subscription,
        topology: Topology,
        publish_window: int = 256,
        watchdog_interval_s: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.agency_id = keys.agency_id
        self.store = store
        self.sealer = Sealer(keys=keys, directory=directory)
        self._clock = clock
        self._watchdog_interval_s = watchdog_interval_s
        self._publisher = publisher
        self.metrics = GatewayMetrics()
        self.relay = OutboxRelay(
            store, publisher, window=publish_window, counts=self.metrics.counts, clock=clock
        )
        self._outbox = OutboxWriter(store, on_committed=self.relay.offer)
        inbox = InboxConsumer(
            sealer=self.sealer,
            topology=topology,
            store=store,
            publisher=publisher,
            relay=self.relay,
            counts=self.metrics.counts,
            clock=clock,
        )
        self.consumer = BatchConsumer(subscription, inbox, max_batch=MAX_BATCH)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Migrate the store, then run relay, batcher and watchdog in the background."""
        await self.store.create()
        self._tasks = [
            asyncio.create_task(self._outbox.run(), name="outbox-writer"),
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(self.consumer.run(), name="inbox-batches"),
            asyncio.create_task(
                keep_subscribed(self.consumer.subscription, self._watchdog_interval_s),
                name="consumer-watchdog",
            ),
        ]
        log.info("gateway started", agency=self.agency_id)

    async def stop(self) -> None:
        """Stop consuming first, then the background tasks, then close connections."""
        await stop_tasks(self._tasks)
        self._tasks = []
        await close_within(self.consumer.subscription.stop(), "subscription")
        await close_within(self._publisher.close(), "publisher")
        await close_within(self.store.close(), "store")
        log.info("gateway stopped", agency=self.agency_id)

    async def submit(
        self,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str | None = None,
        respond_by: int | None = None,
    ) -> OutboxMessage:
        """Seal and store durably in the outbox; returns once committed (the 202 point).

        Needs the gateway started: commits go through the group-commit writer.
        """
        entry = self.sealer.outbox_entry(
            body,
            kind=kind,
            recipient=recipient,
            thread_id=thread_id or new_thread_id(),
            now=self._clock(),
            respond_by=respond_by,
        )
        await self._outbox.write(entry)
        return entry

    async def respond(self, message_id: str, answer: Acknowledgement) -> InboxMessage:
        """Answer a received referral or transfer: move its state and send the answer.

        Raises KeyError (no such message) and lifecycle errors (move not allowed).
        """
        received = await self.store.inbox_message(message_id)
        if received is None:
            raise KeyError(message_id)
        entry = self.sealer.outbox_entry(
            answer,
            kind=MessageKind.ACKNOWLEDGEMENT,
            recipient=received.sender,
            thread_id=received.thread_id,
            now=self._clock(),
        )
        moved = await self.store.respond(message_id, ack_status_to_state(answer.status), entry)
        await self.relay.offer([entry])
        with bound_ids(message_id=message_id, thread_id=received.thread_id, agency=self.agency_id):
            log.info("answered", status=answer.status.value)
        return moved

    async def health(self) -> Health:
        """Consumer liveness, outbox backlog, the publish failure going on."""
        counts = await self.store.counts()
        return Health(
            consumer_alive=self.consumer.subscription.alive(),
            outbox_pending=counts.get("outbox_pending", 0),
            last_publish_error=self.relay.failing,
        )

    async def metrics_text(self) -> bytes:
        """This gateway's figures in the Prometheus text format (counts only)."""
        counts = await self.store.counts()
        return self.metrics.exposition(
            outbox_pending=counts.get("outbox_pending", 0),
            subscribed=self.consumer.subscription.alive(),
        )
