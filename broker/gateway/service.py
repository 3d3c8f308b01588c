"""One agency's gateway: store, sealer, relay, inbox consumer and watchdog, side by side.

It receives its store and its broker (the port's publisher and subscription) ready-made
from the composition root (broker.app.gateway) and builds nothing that does I/O. Nothing
connects at construction; `start()` does, and the gateway keeps accepting work into its
outbox while the broker is down.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from pydantic import BaseModel

from broker.background import close_within, stop_tasks
from broker.envelope import AgencyKeys, TrustedDirectory
from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.group_commit import OutboxWriter
from broker.gateway.lifecycle import ack_status_to_state
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import InboxMessage, OutboxMessage, ReadChannel
from broker.gateway.relay import OutboxRelay
from broker.gateway.users import GatewayUser
from broker.logs import bound_ids, get_logger
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
    """What /healthz reports: is the consumer subscribed, is the outbox draining."""

    consumer_alive: bool
    outbox_pending: int
    last_publish_error: str | None

    @property
    def ok(self) -> bool:
        return self.consumer_alive


class Gateway:
    """The runtime of one agency; `submit`, `read` and `respond` are what its HTTP API calls.

    `read` is the one way to a received message's body for a person or system: adapters,
    pages and exports call it too, so that no body is opened without its read recorded.
    """

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
        self.relay = OutboxRelay(store, publisher, window=publish_window, clock=clock)
        self._outbox = OutboxWriter(store, on_committed=self.relay.offer)
        inbox = InboxConsumer(
            sealer=self.sealer,
            topology=topology,
            store=store,
            publisher=publisher,
            relay=self.relay,
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
        by: GatewayUser | None = None,
    ) -> OutboxMessage:
        """Seal and store durably in the outbox; returns once committed (the 202 point).

        `by`, the signed-in user, is stored as the entry's author; an acknowledgement then
        names them as `responded_by`, whoever the body named. Needs the gateway started:
        commits go through the group-commit writer.
        """
        if by is not None and isinstance(body, Acknowledgement):
            body = body.model_copy(update={"responded_by": by.worker})
        entry = self.sealer.outbox_entry(
            body,
            kind=kind,
            recipient=recipient,
            thread_id=thread_id or new_thread_id(),
            now=self._clock(),
            respond_by=respond_by,
        )
        if by is not None:
            entry = replace(entry, author=by.name)
        await self._outbox.write(entry)
        return entry

    async def read(
        self, message_id: str, reader: GatewayUser, channel: ReadChannel
    ) -> InboxMessage | None:
        """A received message with its body, for `reader`; None when there is no such message.

        The read (who, when, through which channel) is committed before the body leaves
        this method, in the transaction that fetches it: a read that could not be recorded
        raises the store's error and returns nothing.
        """
        message = await self.store.record_read(message_id, reader.name, channel, self._clock())
        if message is None:
            return None
        with bound_ids(message_id=message_id, thread_id=message.thread_id, agency=self.agency_id):
            log.info("read", user=reader.name, channel=channel.value)
        # Bodies sealed at rest (issue 11, written beside this) are opened HERE, after the
        # read is recorded: nothing before this line may hold the plain body.
        return message

    async def respond(
        self, message_id: str, answer: Acknowledgement, *, by: GatewayUser
    ) -> InboxMessage:
        """Answer a received referral or transfer as `by`: move its state and send the answer.

        The answer names `by` as `responded_by` (whatever `answer` held) and the outbox
        entry keeps `by.name` as its author. Raises KeyError (no such message) and lifecycle
        errors (move not allowed).
        """
        received = await self.store.inbox_message(message_id)
        if received is None:
            raise KeyError(message_id)
        entry = self.sealer.outbox_entry(
            answer.model_copy(update={"responded_by": by.worker}),
            kind=MessageKind.ACKNOWLEDGEMENT,
            recipient=received.sender,
            thread_id=received.thread_id,
            now=self._clock(),
        )
        entry = replace(entry, author=by.name)
        moved = await self.store.respond(message_id, ack_status_to_state(answer.status), entry)
        await self.relay.offer([entry])
        with bound_ids(message_id=message_id, thread_id=received.thread_id, agency=self.agency_id):
            log.info("answered", status=answer.status.value, user=by.name)
        return moved

    async def health(self) -> Health:
        """Consumer liveness and outbox backlog."""
        counts = await self.store.counts()
        return Health(
            consumer_alive=self.consumer.subscription.alive(),
            outbox_pending=counts.get("outbox_pending", 0),
            last_publish_error=self.relay.last_error,
        )
