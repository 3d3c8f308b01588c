"""One agency's gateway: store, sealer, relay, inbox consumer and watchdog, side by side.

It receives its store and its broker (the port's publisher and subscription) ready-made
from the composition root (broker.app.gateway) and builds nothing that does I/O. Nothing
connects at construction; `start()` does, and the gateway keeps accepting work into its
outbox while the broker is down.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from pydantic import BaseModel

from broker.background import close_within, stop_tasks
from broker.envelope import (
    AgencyKeys,
    DirectoryError,
    EnvelopeError,
    TrustedDirectory,
    open_record,
    seal_record,
)
from broker.gateway.arrivals import ArrivalAnnouncer
from broker.gateway.consent_cache import ConsentCache
from broker.gateway.consent_gate import ConsentGate
from broker.gateway.consent_register import (
    Change,
    ConsentNotRecorded,
    change,
    record_of,
    withdrawn,
)
from broker.gateway.consent_rules import SHARING_KINDS, check_sharing, supervisor_names
from broker.gateway.consumer import MAX_BATCH, InboxConsumer
from broker.gateway.group_commit import OutboxWriter
from broker.gateway.idempotency import KEY_LIFETIME_S, IdempotencyKeyInFlight, IdempotencyKeyReused
from broker.gateway.lifecycle import ack_status_to_state
from broker.gateway.metrics import GatewayMetrics
from broker.gateway.outgoing import Sealer
from broker.gateway.ports import GatewayStore
from broker.gateway.records import (
    ConsentRecord,
    InboxMessage,
    OutboxMessage,
    ReadChannel,
    SubmissionKey,
)
from broker.gateway.relay import OutboxRelay
from broker.gateway.retention import DEFAULT_RETENTION_DAYS, RetentionSweeper
from broker.gateway.stored import open_stored
from broker.gateway.users import GatewayUser
from broker.live_directory import POLL_S, DirectoryFile, LiveDirectory, LoadedDirectory
from broker.logs import Failing, bound_ids, get_logger
from broker.messaging.alerts import announce_directory_refused
from broker.messaging.batch_consumer import BatchConsumer
from broker.messaging.port import Publisher, Subscription
from broker.messaging.watchdog import keep_subscribed
from broker.topology.names import Topology
from schemas.acknowledgement import Acknowledgement
from schemas.common import SharingBasis
from schemas.consent import Consent
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import ConsentStatus, MessageKind

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
    """The runtime of one agency; `submit`, `read` and `respond` are what its HTTP API calls.

    `read` is the one way to a received message's body for a person or system: adapters,
    pages and exports call it too, so that no body is opened without its read recorded.
    `submit` is the one way out for a referral or transfer: it applies the consent rules
    (`gateway.consent_rules`) over the register that `record_consent` and
    `withdraw_consent` keep, whichever adapter or API called it. `users` (the users file)
    names the supervisors who may authorise a sharing without consent.
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
        retention_days: int = DEFAULT_RETENTION_DAYS,
        directory_file: DirectoryFile | None = None,
        directory_poll_s: float = POLL_S,
        users: Mapping[str, GatewayUser] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.agency_id = keys.agency_id
        self.users: Mapping[str, GatewayUser] = users or {}
        self._supervisors = supervisor_names(self.users)
        self._consent_gate = ConsentGate()
        self._recording = asyncio.Lock()  # record_consent: one read-decide-save at a time
        self._consents = ConsentCache()
        self.store = store
        self.sealer = Sealer(keys=keys, directory=directory)
        self.retention = RetentionSweeper(store, retention_days=retention_days, clock=clock)
        # Idempotency-Keys of submissions being worked on in this process (one per agency).
        self._keys_in_flight: set[str] = set()
        # Refuses a directory older than the store's at start; follows directory_file.
        self.directory = LiveDirectory(
            directory,
            store,
            self._use_directory,
            source=directory_file,
            on_refused=self._directory_refused,
            interval_s=directory_poll_s,
            clock=clock,
        )
        self._clock = clock
        self._watchdog_interval_s = watchdog_interval_s
        self._publisher = publisher
        self.metrics = GatewayMetrics()
        self.relay = OutboxRelay(
            store, publisher, window=publish_window, counts=self.metrics.counts, clock=clock
        )
        self._outbox = OutboxWriter(store, on_committed=self.relay.offer)
        # On the relay's publisher: the events share its connection and confirmed channel.
        self.arrivals = ArrivalAnnouncer(publisher, counts=self.metrics.counts)
        self._inbox = inbox = InboxConsumer(
            sealer=self.sealer,
            topology=topology,
            store=store,
            publisher=publisher,
            relay=self.relay,
            arrivals=self.arrivals,
            counts=self.metrics.counts,
            clock=clock,
        )
        self.consumer = BatchConsumer(subscription, inbox, max_batch=MAX_BATCH)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Migrate the store, refuse an older directory (DirectoryRollback), then run relay,
        batcher, watchdog, the retention sweep and the directory's watch in the background."""
        await self.store.create()
        await self.directory.start()
        self._tasks = [
            asyncio.create_task(self._outbox.run(), name="outbox-writer"),
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(self.arrivals.run(), name="arrival-events"),
            asyncio.create_task(self.consumer.run(), name="inbox-batches"),
            asyncio.create_task(
                keep_subscribed(self.consumer.subscription, self._watchdog_interval_s),
                name="consumer-watchdog",
            ),
            asyncio.create_task(self.retention.run(), name="retention-sweep"),
            asyncio.create_task(self.directory.run(), name="directory-watch"),
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

    def _use_directory(self, loaded: LoadedDirectory) -> None:
        # One assignment each: a seal or an open in progress finishes on the old directory.
        self.sealer = replace(self.sealer, directory=loaded.trusted)
        self._inbox.sealer = self.sealer

    async def _directory_refused(self, error: DirectoryError) -> None:
        await announce_directory_refused(
            self._publisher, [self.agency_id], error.reason, self._clock()
        )

    async def submit(
        self,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str | None = None,
        respond_by: int | None = None,
        message_id: str | None = None,
        by: GatewayUser | None = None,
    ) -> OutboxMessage:
        """Seal and store durably in the outbox; returns once committed (the 202 point).

        A referral or transfer must pass the consent rules first: raises ConsentRefused
        (nothing sealed, nothing stored) otherwise. `by`, the signed-in user, is stored as
        the entry's author; an acknowledgement then names them as `responded_by`, whoever
        the body named. Needs the gateway started: commits go through the group-commit
        writer.
        """
        async with self._sharing(body, kind=kind, recipient=recipient):
            return await self._enqueue(
                body,
                kind=kind,
                recipient=recipient,
                thread_id=thread_id,
                respond_by=respond_by,
                message_id=message_id,
                by=by,
            )

    @asynccontextmanager
    async def _sharing(
        self, body: BaseModel, *, kind: MessageKind, recipient: str
    ) -> AsyncIterator[None]:
        if kind not in SHARING_KINDS or not isinstance(body, SharingBasis):
            self._check_sharing(body, kind, recipient, None)  # a consent message's own rule
            yield
            return
        # The check and the commit under the gate's shared side: no withdrawal in between.
        async with self._consent_gate.sending():
            consent = None
            if body.consent_ref is not None:
                consent = await self._consent(body.consent_ref)
            self._check_sharing(body, kind, recipient, consent)
            yield

    def _check_sharing(
        self, body: BaseModel, kind: MessageKind, recipient: str, consent: ConsentRecord | None
    ) -> None:
        listed = self.sealer.directory.agency(recipient)
        check_sharing(
            body,
            kind=kind,
            recipient=recipient,
            recipient_kind=listed.kind if listed is not None else None,
            consent=consent,
            supervisors=self._supervisors,
            today=self._today(),
        )

    async def _consent(self, consent_id: str) -> ConsentRecord | None:
        found = self._consents.get(consent_id)
        if found is None:
            found = await self.store.consent(consent_id)
            if found is not None:
                self._consents.put(found)
        return found

    def _today(self) -> date:
        return datetime.fromtimestamp(self._clock(), UTC).date()

    async def _enqueue(
        self,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str | None = None,
        respond_by: int | None = None,
        message_id: str | None = None,
        by: GatewayUser | None = None,
    ) -> OutboxMessage:
        if by is not None and isinstance(body, Acknowledgement):
            body = body.model_copy(update={"responded_by": by.worker})
        entry = self.sealer.outbox_entry(
            body,
            kind=kind,
            recipient=recipient,
            thread_id=thread_id or new_thread_id(),
            now=self._clock(),
            respond_by=respond_by,
            message_id=message_id,
        )
        if by is not None:
            entry = replace(entry, author=by.name)
        await self._outbox.write(entry)
        return entry

    async def submit_once(
        self,
        key: str,
        request_hash: str,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str | None = None,
        respond_by: int | None = None,
        by: GatewayUser | None = None,
    ) -> SubmissionKey:
        """`submit` under an Idempotency-Key: the same key and request give the same ids.

        The ids are allocated with the key, before sealing: a retry after any failure (a
        crash included) seals again under the same message id, and the outbox keeps one.
        Raises IdempotencyKeyInFlight (a request with this key is being worked on),
        IdempotencyKeyReused (the key came with another request within its lifetime), and
        what `submit` raises (ConsentRefused before the key is claimed: nothing is kept).
        """
        if key in self._keys_in_flight:
            raise IdempotencyKeyInFlight("a request with this Idempotency-Key is in progress")
        self._keys_in_flight.add(key)
        try:
            async with self._sharing(body, kind=kind, recipient=recipient):
                return await self._submit_once(
                    key,
                    request_hash,
                    body,
                    kind=kind,
                    recipient=recipient,
                    thread_id=thread_id,
                    respond_by=respond_by,
                    by=by,
                )
        finally:
            self._keys_in_flight.discard(key)

    async def _submit_once(
        self,
        key: str,
        request_hash: str,
        body: BaseModel,
        *,
        kind: MessageKind,
        recipient: str,
        thread_id: str | None,
        respond_by: int | None,
        by: GatewayUser | None,
    ) -> SubmissionKey:
        now = self._clock()
        wanted = SubmissionKey(
            key, request_hash, new_message_id(), thread_id or new_thread_id(), now
        )
        held, enqueued = await self.store.claim_submission(wanted, fresh_after=now - KEY_LIFETIME_S)
        if held.request_hash != request_hash:
            raise IdempotencyKeyReused("this Idempotency-Key was used for another request")
        if not enqueued:
            await self._enqueue(
                body,
                kind=kind,
                recipient=recipient,
                thread_id=held.thread_id,
                respond_by=respond_by,
                message_id=held.message_id,
                by=by,
            )
        return held

    async def read(
        self, message_id: str, reader: GatewayUser, channel: ReadChannel
    ) -> tuple[InboxMessage, BaseModel]:
        """A received message with its body, opened now from the sealed envelope, for `reader`.

        The read (who, when, through which channel) is committed before the body leaves
        this method, in the transaction that fetches it: a read that could not be recorded
        raises the store's error and returns nothing. Raises KeyError (no such message),
        stored.BodyErased, and the errors of stored.open_stored when the envelope does not open.
        """
        message = await self.store.record_read(message_id, reader.name, channel, self._clock())
        if message is None:
            raise KeyError(message_id)
        with bound_ids(message_id=message_id, thread_id=message.thread_id, agency=self.agency_id):
            log.info("read", user=reader.name, channel=channel.value)
        # Opened only here, after the read is recorded: nothing before holds the plain body.
        return message, open_stored(message, self.sealer.keys)

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

    async def record_consent(self, consent: Consent, *, by: GatewayUser) -> None:
        """Record `consent` in this agency's register, its body sealed to the agency's key.

        Recording a consent id again is allowed only as `gateway.consent_register` says: the
        same consent again changes nothing; status withdrawn withdraws it, exactly as
        `withdraw_consent` does (with the body's withdrawn_at). Raises ConsentConflict.
        """
        # Read, decide and save as one step: two recordings of one new consent id at once
        # (a webhook and its retry, a grant and its withdrawal) must not both see it absent.
        async with self._recording:
            current = await self.store.consent(consent.consent_id)
            step = change(current, consent)
            if step is Change.SAME:
                return
            if step is Change.WITHDRAWAL:
                await self._withdraw(consent.consent_id, consent.withdrawn_at, by)
                return
            record = record_of(
                consent, sealed=self._seal_consent(consent), by=by.name, at=self._clock()
            )
            await self.store.save_consent(record)
            self._consents.put(record)
        log.info("consent recorded", consent_id=consent.consent_id, status=record.status)

    async def withdraw_consent(self, consent_id: str, *, by: GatewayUser) -> list[str]:
        """Withdraw a recorded consent and tell every agency that received data under it.

        One consent message (status withdrawn, withdrawn_at now) per agency sent a referral
        or transfer citing it, all in one new thread, stored in the transaction that marks
        the consent withdrawn; later sends citing it are refused (`consent_withdrawn`).
        Returns the message ids of those notices (none for one already withdrawn). Raises
        ConsentNotRecorded.
        """
        return await self._withdraw(consent_id, None, by)

    async def consent_body(self, record: ConsentRecord) -> Consent:
        """The consent `record` holds, opened from its sealed body: never log it.

        Raises the EnvelopeError of `envelope.open_record` when it does not open.
        """
        return open_record(
            record.sealed,
            Consent,
            kind=MessageKind.CONSENT.value,
            record_id=record.consent_id,
            keys=self.sealer.keys,
        )

    def _seal_consent(self, consent: Consent) -> bytes:
        return seal_record(
            consent,
            kind=MessageKind.CONSENT.value,
            record_id=consent.consent_id,
            keys=self.sealer.keys,
        )

    async def _withdraw(
        self, consent_id: str, withdrawn_at: int | None, by: GatewayUser
    ) -> list[str]:
        async with self._consent_gate.withdrawing():
            record = await self.store.consent(consent_id)
            if record is None:
                raise ConsentNotRecorded(f"consent {consent_id} is not recorded here")
            if record.status == ConsentStatus.WITHDRAWN:
                return []
            now = self._clock()
            body = withdrawn(await self.consent_body(record), withdrawn_at or int(now))
            thread_id = new_thread_id()
            notices = []
            for agency in await self.store.consent_recipients(consent_id):
                try:
                    notice = self.sealer.outbox_entry(
                        body,
                        kind=MessageKind.CONSENT,
                        recipient=agency,
                        thread_id=thread_id,
                        now=now,
                    )
                except EnvelopeError as error:
                    # An agency gone from the directory cannot be told; the withdrawal
                    # itself must still hold, and the others be told.
                    log.warning(
                        "withdrawal notice not sealed", recipient=agency, reason=error.reason
                    )
                    continue
                notices.append(replace(notice, author=by.name))
            updated = record_of(body, sealed=self._seal_consent(body), by=by.name, at=now)
            # Recorded when it was first recorded, by whom: withdrawal changes state only.
            updated = replace(
                updated, recorded_at=record.recorded_at, recorded_by=record.recorded_by
            )
            await self.store.save_consent(updated, notices)
            self._consents.put(updated)
        await self.relay.offer(notices)
        with bound_ids(thread_id=thread_id, agency=self.agency_id):
            log.info("consent withdrawn", consent_id=consent_id, user=by.name, notices=len(notices))
        return [notice.message_id for notice in notices]

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
