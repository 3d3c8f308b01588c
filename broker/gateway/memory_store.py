"""GatewayStore held in memory: same contract as the SQL store, nothing survives a restart.

Each method runs without awaiting, so under asyncio every call is atomic on its own.
"""

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import date

from broker.gateway.lifecycle import can_move, check_move, check_response
from broker.gateway.records import (
    RETENTION,
    ConsentRecord,
    Erasure,
    InboxMessage,
    InboxState,
    OutboxMessage,
    ReadChannel,
    ReadRecord,
    Received,
    SentStatus,
    SignInRecord,
    SubmissionKey,
)
from broker.gateway.sent_status import Reply, sent_status
from broker.people.memory_sessions import MemorySessions
from schemas.kinds import AckStatus, ConsentStatus, MessageKind


class MemoryGatewayStore(MemorySessions):
    """Outbox and inbox of one agency in dicts; for handler tests and throwaway runs.

    The sessions of the inbox pages are MemorySessions': a restart signs everybody out.
    """

    def __init__(self) -> None:
        super().__init__()
        self._outbox: dict[str, OutboxMessage] = {}
        self._inbox: dict[str, InboxMessage] = {}
        self._erasures: list[Erasure] = []
        self._submissions: dict[str, SubmissionKey] = {}
        self._directory_serial = 0
        self._reads: list[ReadRecord] = []
        self._sign_ins: list[SignInRecord] = []
        self._consents: dict[str, ConsentRecord] = {}

    async def create(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Keep outgoing envelopes; ids already stored are left as they are (retry-safe)."""
        for message in messages:
            self._outbox.setdefault(message.message_id, message)

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        """Unsent, unerased envelopes whose next attempt is due, oldest first."""
        pending = [
            message
            for message in self._outbox.values()
            if _pending(message) and message.next_attempt_at <= now
        ]
        pending.sort(key=lambda message: (message.created_at, message.message_id))
        return pending[:limit]

    async def mark_sent(self, message_ids: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown ids ignored."""
        for message_id in message_ids:
            message = self._outbox.get(message_id)
            if message is not None and message.sent_at is None:
                self._outbox[message_id] = replace(message, sent_at=at)

    async def reschedule(self, message_id: str, attempts: int, next_attempt_at: float) -> None:
        """Record a failed publish attempt; raises KeyError for an unknown id."""
        message = self._outbox[message_id]
        self._outbox[message_id] = replace(
            message, attempts=attempts, next_attempt_at=next_attempt_at
        )

    async def store_received(self, batch: Sequence[Received]) -> list[bool]:
        """Store each new message with its ack; True where newly stored."""
        stored: list[bool] = []
        new: list[InboxMessage] = []
        for item in batch:
            message_id = item.message.message_id
            if message_id in self._inbox:
                stored.append(False)
                continue
            self._inbox[message_id] = item.message
            if item.ack is not None:
                self._outbox.setdefault(item.ack.message_id, item.ack)
            new.append(item.message)
            stored.append(True)
        self._apply_withdrawals(new)
        return stored

    def _apply_withdrawals(self, new: Sequence[InboxMessage]) -> None:
        # Look both ways: a withdrawal may be stored before the message it withdraws.
        targets = {message.message_id for message in new}
        targets |= {message.in_reply_to for message in new if message.in_reply_to}
        for ack in self._inbox.values():
            if not (_is_withdrawal(ack) and ack.in_reply_to in targets):
                continue
            target = self._inbox.get(ack.in_reply_to or "")
            if (
                target
                and target.sender == ack.sender
                and can_move(target.kind, target.state, InboxState.WITHDRAWN)
            ):
                self._inbox[target.message_id] = replace(target, state=InboxState.WITHDRAWN)

    async def respond(
        self, message_id: str, state: InboxState, answer: OutboxMessage
    ) -> InboxMessage:
        """Move a received message to `state` and enqueue `answer`, atomically.

        Raises KeyError (no such message), TransitionNotAllowed or AnswerMismatch.
        """
        check_response(message_id, state, answer)
        current = self._inbox[message_id]
        check_move(current.kind, current.state, state)
        moved = replace(current, state=state)
        self._inbox[message_id] = moved
        self._outbox.setdefault(answer.message_id, answer)
        return moved

    async def inbox(
        self,
        *,
        kind: str | None = None,
        state: InboxState | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InboxMessage]:
        """Received messages, newest first."""
        found = [
            message
            for message in self._inbox.values()
            if (kind is None or message.kind == kind) and (state is None or message.state == state)
        ]
        found.sort(key=lambda message: (message.received_at, message.message_id), reverse=True)
        return found[offset : offset + limit]

    async def worklist(self, kinds: Collection[str], *, limit: int) -> list[InboxMessage]:
        """Messages of `kinds`: NEW ones longest waiting first, then the rest newest first."""
        listed = [message for message in self._inbox.values() if message.kind in kinds]
        waiting = sorted(
            (m for m in listed if m.state is InboxState.NEW),
            key=lambda message: (message.received_at, message.message_id),
        )[:limit]
        rest = sorted(
            (m for m in listed if m.state is not InboxState.NEW),
            key=lambda message: (message.received_at, message.message_id),
            reverse=True,
        )
        return waiting + rest[: limit - len(waiting)]

    async def inbox_message(self, message_id: str) -> InboxMessage | None:
        """One received message."""
        return self._inbox.get(message_id)

    async def record_read(
        self, message_id: str, reader: str, channel: ReadChannel, at: float
    ) -> InboxMessage | None:
        """One received message, its read by `reader` recorded; None for unknown ids."""
        message = self._inbox.get(message_id)
        if message is not None:
            self._reads.append(ReadRecord(message_id, message.thread_id, reader, channel, at))
        return message

    async def reads(self, thread_id: str, *, limit: int = 100, offset: int = 0) -> list[ReadRecord]:
        """Who opened the bodies of a thread's messages, oldest first."""
        found = [read for read in self._reads if read.thread_id == thread_id]
        found.sort(key=lambda read: read.at)  # stable: ties stay in the order recorded
        return found[offset : offset + limit]

    async def record_sign_in(self, sign_in: SignInRecord) -> None:
        """Keep one sign-in."""
        self._sign_ins.append(sign_in)

    async def sign_ins(self, *, limit: int = 100, offset: int = 0) -> list[SignInRecord]:
        """The sign-in log, newest first."""
        # Ties: the later recorded first, as the SQL store orders by its row id.
        latest_first = reversed(self._sign_ins)
        newest = sorted(latest_first, key=lambda sign_in: sign_in.at, reverse=True)
        return newest[offset : offset + limit]

    async def sent(self, *, limit: int = 100, offset: int = 0) -> list[SentStatus]:
        """Sent messages (not acknowledgements) with what became of them, newest first."""
        mine = [m for m in self._outbox.values() if m.kind != MessageKind.ACKNOWLEDGEMENT]
        mine.sort(key=lambda message: (message.created_at, message.message_id), reverse=True)
        return [self._status(message) for message in mine[offset : offset + limit]]

    async def sent_message(self, message_id: str) -> SentStatus | None:
        """What became of one sent message (None for unknown ids and acknowledgements)."""
        message = self._outbox.get(message_id)
        if message is None or message.kind == MessageKind.ACKNOWLEDGEMENT:
            return None
        return self._status(message)

    def _status(self, message: OutboxMessage) -> SentStatus:
        replies = [
            Reply(
                reply.message_id,
                reply.sender,
                reply.status,
                reply.received_at,
                reply.reason_category,
            )
            for reply in self._inbox.values()
            if reply.kind == MessageKind.ACKNOWLEDGEMENT and reply.in_reply_to == message.message_id
        ]
        own = [
            Reply(ack.message_id, "", ack.status, ack.created_at)
            for ack in self._outbox.values()
            if ack.kind == MessageKind.ACKNOWLEDGEMENT and ack.in_reply_to == message.message_id
        ]
        return sent_status(message, replies, own)

    async def counts(self) -> dict[str, int]:
        """Operational counts: outbox_pending (unsent, unerased), inbox_total."""
        pending = sum(1 for message in self._outbox.values() if _pending(message))
        return {"outbox_pending": pending, "inbox_total": len(self._inbox)}

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""
        return self._directory_serial

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher; return the one kept after."""
        self._directory_serial = max(self._directory_serial, serial)
        return self._directory_serial

    async def erase_thread(self, thread_id: str, *, at: float, by: str) -> int:
        """Erase every body of the thread, inbox and outbox; one log entry, even for 0."""
        count = self._erase(
            [m.message_id for m in self._inbox.values() if m.thread_id == thread_id],
            [m.message_id for m in self._outbox.values() if m.thread_id == thread_id],
            at,
        )
        self._erasures.append(Erasure(thread_id, at, by, sum(count.values())))
        return sum(count.values())

    async def erase_expired(self, before: float, *, at: float, limit: int) -> int:
        """Erase bodies older than `before` (outbox: confirmed ones only), oldest first."""
        inbox = sorted(
            (m for m in self._inbox.values() if m.erased_at is None and m.received_at < before),
            key=lambda m: (m.received_at, m.message_id),
        )[:limit]
        outbox = sorted(
            (
                m
                for m in self._outbox.values()
                if m.erased_at is None and m.sent_at is not None and m.created_at < before
            ),
            key=lambda m: (m.created_at, m.message_id),
        )[:limit]
        count = self._erase([m.message_id for m in inbox], [m.message_id for m in outbox], at)
        self._erasures += [Erasure(t, at, RETENTION, n) for t, n in sorted(count.items())]
        return sum(count.values())

    def _erase(self, inbox: Sequence[str], outbox: Sequence[str], at: float) -> Counter[str]:
        count: Counter[str] = Counter()
        for message_id in inbox:
            message = self._inbox[message_id]
            if message.erased_at is None:
                self._inbox[message_id] = replace(message, envelope=None, erased_at=at)
                count[message.thread_id] += 1
        for message_id in outbox:
            sent = self._outbox[message_id]
            if sent.erased_at is None:
                self._outbox[message_id] = replace(sent, envelope=None, erased_at=at)
                count[sent.thread_id] += 1
        return count

    async def erasures(self, *, thread_id: str | None = None, limit: int = 100) -> list[Erasure]:
        """The erasure log, newest first, optionally of one thread."""
        found = [e for e in self._erasures if thread_id is None or e.thread_id == thread_id]
        return found[::-1][:limit]

    async def claim_submission(
        self, claim: SubmissionKey, *, fresh_after: float
    ) -> tuple[SubmissionKey, bool]:
        """Hold the key for `claim` unless a fresh claim of it is held; see GatewayStore."""
        held = self._submissions.get(claim.key)
        if held is None or held.created_at < fresh_after:
            held = self._submissions[claim.key] = claim
        return held, held.message_id in self._outbox

    async def purge_submissions(self, before: float) -> int:
        """Forget idempotency keys claimed before `before`."""
        old = [key for key, held in self._submissions.items() if held.created_at < before]
        for key in old:
            del self._submissions[key]
        return len(old)

    async def save_consent(
        self, record: ConsentRecord, notices: Sequence[OutboxMessage] = ()
    ) -> None:
        """Keep `record` (replacing its consent_id's) and enqueue `notices`, together."""
        self._consents[record.consent_id] = record
        for notice in notices:
            self._outbox.setdefault(notice.message_id, notice)

    async def consent(self, consent_id: str) -> ConsentRecord | None:
        """One consent of the register."""
        return self._consents.get(consent_id)

    async def consents(
        self, *, limit: int = 100, offset: int = 0, in_force_on: date | None = None
    ) -> list[ConsentRecord]:
        """The register, latest recorded first; only those in force on a day, if given."""
        latest = sorted(
            (
                c
                for c in self._consents.values()
                if in_force_on is None
                or (
                    c.status == ConsentStatus.GRANTED
                    and c.valid_from <= in_force_on <= c.valid_until
                )
            ),
            key=lambda c: (c.recorded_at, c.consent_id),
            reverse=True,
        )
        return latest[offset : offset + limit]

    async def consent_recipients(self, consent_id: str) -> list[str]:
        """Agencies sent a referral or transfer citing `consent_id`, sorted."""
        sharing = {MessageKind.REFERRAL.value, MessageKind.TRANSFER.value}
        return sorted(
            {
                m.recipient
                for m in self._outbox.values()
                if m.consent_ref == consent_id and m.kind in sharing
            }
        )


def _pending(message: OutboxMessage) -> bool:
    return message.sent_at is None and message.erased_at is None


def _is_withdrawal(message: InboxMessage) -> bool:
    return message.kind == MessageKind.ACKNOWLEDGEMENT and message.status == AckStatus.WITHDRAWN
