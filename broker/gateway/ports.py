"""The gateway's storage port. One contract; SQLite/PostgreSQL and in-memory implement it."""

from collections.abc import Collection, Sequence
from datetime import date
from typing import Protocol

from broker.gateway.records import (
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
from broker.people.sessions import SessionStore


class GatewayStore(SessionStore, Protocol):
    """Outbox and inbox of one agency, and the sessions of its people signed in to the inbox
    pages (`broker.people.sessions.SessionStore`).

    Durability rules: `enqueue` returns only once the envelope is committed; `store_received`
    writes each inbox entry and its acknowledgement's outbox entry in ONE transaction, and
    reports which message ids were already present (redeliveries, replays) without storing
    them again.
    """

    async def create(self) -> None:
        """Create or migrate the schema; idempotent."""

    async def close(self) -> None:
        """Release connections."""

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Store outgoing envelopes durably, in one transaction, before they are published.

        Returns once committed. An id already stored is left as it is (a retry is safe).
        """

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        """Unsent, unerased envelopes whose next attempt is due, oldest first."""

    async def mark_sent(self, message_ids: Sequence[str], at: float) -> None:
        """Record the broker's confirm for these envelopes (first time kept, unknown ignored)."""

    async def reschedule(self, message_id: str, attempts: int, next_attempt_at: float) -> None:
        """Record a failed publish attempt and when to try again; KeyError for unknown ids."""

    async def store_received(self, batch: Sequence[Received]) -> list[bool]:
        """Store each message with its ack in one transaction; True where newly stored.

        A `withdrawn` acknowledgement from a message's own sender moves that message to
        WITHDRAWN (from where `gateway.lifecycle` allows: NEW, ACCEPTED or PLANNED for a
        referral) in the same transaction, whichever arrives first.
        """

    async def respond(
        self, message_id: str, state: InboxState, answer: OutboxMessage
    ) -> InboxMessage:
        """Move a received referral/transfer to `state` and enqueue `answer`, atomically.

        Raises KeyError when there is no such message and ValueError when the move is not
        allowed from its current state (lifecycle.TransitionNotAllowed) or `answer` is not
        an acknowledgement of this message whose status stands for `state`
        (lifecycle.AnswerMismatch). Of concurrent calls on one message, one wins.
        """

    async def inbox(
        self,
        *,
        kind: str | None = None,
        state: InboxState | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InboxMessage]:
        """Received messages, newest first."""

    async def worklist(self, kinds: Collection[str], *, limit: int) -> list[InboxMessage]:
        """Received messages of `kinds`, at most `limit`: those still to answer (NEW) first,
        the longest waiting first, then the rest, newest first.

        For the inbox page: the deadline lives in the header, not in a column, so an old
        unanswered message must not be pushed past the limit by newer answered ones.
        """

    async def inbox_message(self, message_id: str) -> InboxMessage | None:
        """One received message. Its body is for `Gateway.read` (which records the read) only."""

    async def record_read(
        self, message_id: str, reader: str, channel: ReadChannel, at: float
    ) -> InboxMessage | None:
        """One received message, with a read of it by `reader` recorded in the same transaction.

        None, and nothing recorded, when there is no such message.
        """

    async def reads(self, thread_id: str, *, limit: int = 100, offset: int = 0) -> list[ReadRecord]:
        """Who opened the bodies of a thread's messages, and when: oldest first."""

    async def record_sign_in(self, sign_in: SignInRecord) -> None:
        """Commit one sign-in (succeeded or failed) to the sign-in log."""

    async def sign_ins(self, *, limit: int = 100, offset: int = 0) -> list[SignInRecord]:
        """The sign-in log, newest first."""

    async def sent(self, *, limit: int = 100, offset: int = 0) -> list[SentStatus]:
        """Sent messages (not acknowledgements) with what became of them, newest first."""

    async def sent_message(self, message_id: str) -> SentStatus | None:
        """What became of one sent message."""

    async def counts(self) -> dict[str, int]:
        """Operational counts: outbox_pending (unsent, unerased), inbox_total."""

    async def erase_thread(self, thread_id: str, *, at: float, by: str) -> int:
        """Erase every body of `thread_id`, inbox and outbox, and log it; returns how many.

        Rows keep their ids, kinds, states and times, with `erased_at`; an unsent envelope
        so erased is never sent. One erasure-log entry (thread, at, by, count) is written in
        the same transaction, also when there was nothing left to erase (count 0).
        """

    async def erase_expired(self, before: float, *, at: float, limit: int) -> int:
        """Erase bodies older than `before`, at most `limit` of each table, oldest first.

        Inbox envelopes received before `before`; outbox envelopes created before it and
        confirmed by the broker (unsent ones are never erased by age). One erasure-log entry
        per thread, by RETENTION. Returns how many were erased (0: nothing left).
        """

    async def erasures(self, *, thread_id: str | None = None, limit: int = 100) -> list[Erasure]:
        """The erasure log, newest first, optionally of one thread."""

    async def claim_submission(
        self, claim: SubmissionKey, *, fresh_after: float
    ) -> tuple[SubmissionKey, bool]:
        """Hold `claim.key` for `claim`, unless a claim of that key newer than `fresh_after`
        is held already (an older one is replaced).

        Returns the claim now held for the key and whether its message is in the outbox.
        """

    async def purge_submissions(self, before: float) -> int:
        """Forget idempotency keys claimed before `before`; returns how many."""

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher than the one kept; return the one kept after (the
        highest ever accepted: a lower one is never kept)."""

    async def save_consent(
        self, record: ConsentRecord, notices: Sequence[OutboxMessage] = ()
    ) -> None:
        """Keep `record` in the consent register (replacing the entry of its consent_id) and
        enqueue `notices` (its withdrawal's messages), in ONE transaction."""

    async def consent(self, consent_id: str) -> ConsentRecord | None:
        """One consent of the register."""

    async def consents(
        self, *, limit: int = 100, offset: int = 0, in_force_on: date | None = None
    ) -> list[ConsentRecord]:
        """The consent register, latest recorded first; with `in_force_on`, only consents
        granted and in date that day (`valid_from` and `valid_until` inclusive), as the
        sending rules read them (`gateway.consent_rules`)."""

    async def consent_recipients(self, consent_id: str) -> list[str]:
        """The agencies sent a referral or transfer citing `consent_id` (sent or still
        queued, erased or not), sorted."""
