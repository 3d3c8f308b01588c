"""GatewayStore on SQLAlchemy 2 Core: SQLite by default, PostgreSQL by URL."""

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from broker import lifecycle
from broker.gateway.lifecycle import TransitionNotAllowed, check_move, check_response, sources_of
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
    SignInMethod,
    SignInOutcome,
    SignInRecord,
    SubmissionKey,
)
from broker.gateway.sent_status import Reply, sent_status
from broker.people.sessions import SessionRecord
from broker.store import migrate, session_rows
from broker.store.directory_serials import highest_serial, raise_serial
from broker.store.engine import chunks, insert_new
from broker.store.gateway_tables import (
    consents,
    erasures,
    gateway_directory,
    inbox,
    outbox,
    sessions,
    submission_keys,
)
from broker.store.gateway_tables import reads as read_log
from broker.store.gateway_tables import sign_ins as sign_in_log
from broker.store.transactions import open_transactions
from schemas.kinds import AckStatus, ConsentStatus, MessageKind

ACK = MessageKind.ACKNOWLEDGEMENT.value


def _may_reach(target: InboxState) -> ColumnElement[bool]:
    """Rows whose kind and state allow a move to `target` (by `gateway.lifecycle`)."""
    # Not IN (...): an expanding parameter cannot take part in executemany.
    return or_(
        *(
            and_(inbox.c.kind == kind.value, inbox.c.state == source.value)
            for kind in sorted(lifecycle.MOVES)
            for source in sorted(sources_of(kind, target))
        )
    )


_WITHDRAWABLE = _may_reach(InboxState.WITHDRAWN)
# Unsent and not erased: what the relay still has to publish.
_PENDING = and_(outbox.c.sent_at.is_(None), outbox.c.erased_at.is_(None))


class SqlGatewayStore:
    """Outbox and inbox of one agency in SQLite (`sqlite+aiosqlite:///path`) or PostgreSQL.

    Raises UnsupportedDatabase for any other URL, and StoreError (StoreUnavailable when worth
    retrying) when the database fails; nothing of the failed call is then committed. Each
    operation is one function over one transaction (`broker.store.transactions`).
    """

    def __init__(self, url: str) -> None:
        self._transactions = open_transactions(url)

    async def create(self) -> None:
        """Create or migrate the schema to the newest revision; idempotent.

        A migration may drop content (gateway_0003 drops plaintext bodies): the WAL is
        then copied into the database file and emptied, so none is left in either.
        """
        await self._transactions.run("create", lambda c: migrate.upgrade(c, "gateway"))
        await self._transactions.checkpoint()

    async def close(self) -> None:
        """Release connections."""
        await self._transactions.close()

    async def enqueue(self, messages: Sequence[OutboxMessage]) -> None:
        """Commit outgoing envelopes together; ids already stored are left as they are."""
        if not messages:
            return
        rows = [_outbox_row(m) for m in messages]
        await self._transactions.run(
            "enqueue", lambda c: c.execute(insert_new(c.dialect.name, outbox), rows)
        )

    async def due(self, now: float, limit: int) -> list[OutboxMessage]:
        """Unsent, unerased envelopes whose next attempt is due, oldest first."""
        query = (
            select(outbox)
            .where(_PENDING, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.created_at, outbox.c.message_id)
            .limit(limit)
        )
        rows = await self._transactions.run("due", lambda c: c.execute(query).mappings().all())
        return [_outbox_record(row) for row in rows]

    async def mark_sent(self, message_ids: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown ids ignored."""

        def mark(connection: Connection) -> None:
            for chunk in chunks(sorted(set(message_ids))):
                connection.execute(
                    update(outbox)
                    .where(outbox.c.message_id.in_(chunk), outbox.c.sent_at.is_(None))
                    .values(sent_at=at)
                )

        await self._transactions.run("mark_sent", mark)

    async def reschedule(self, message_id: str, attempts: int, next_attempt_at: float) -> None:
        """Record a failed publish attempt; raises KeyError for an unknown id."""
        statement = (
            update(outbox)
            .where(outbox.c.message_id == message_id)
            .values(attempts=attempts, next_attempt_at=next_attempt_at)
        )
        updated = await self._transactions.run(
            "reschedule", lambda c: c.execute(statement).rowcount
        )
        if updated == 0:
            raise KeyError(message_id)

    async def store_received(self, batch: Sequence[Received]) -> list[bool]:
        """Store each new message with its ack in ONE transaction; True where newly stored.

        A withdrawal (acknowledgement `withdrawn`) from a message's own sender moves that
        message to WITHDRAWN in the same transaction, whichever of the two arrives first.
        """
        first: dict[str, int] = {}
        for index, item in enumerate(batch):
            first.setdefault(item.message.message_id, index)
        unique = [batch[index] for index in first.values()]
        if not unique:
            return []

        def store(connection: Connection) -> set[str]:
            dialect = connection.dialect.name
            inserted = connection.execute(
                insert_new(dialect, inbox).returning(inbox.c.message_id),
                [_inbox_row(item.message) for item in unique],
            )
            new_ids = set(inserted.scalars().all())
            new = [item for item in unique if item.message.message_id in new_ids]
            acks = [_outbox_row(item.ack) for item in new if item.ack is not None]
            if acks:
                connection.execute(insert_new(dialect, outbox), acks)
            _apply_withdrawals(connection, [item.message for item in new])
            return new_ids

        new_ids = await self._transactions.run("store_received", store)
        return [
            first[item.message.message_id] == index and item.message.message_id in new_ids
            for index, item in enumerate(batch)
        ]

    async def respond(
        self, message_id: str, state: InboxState, answer: OutboxMessage
    ) -> InboxMessage:
        """Move a received message to `state` and enqueue `answer`, atomically.

        Raises KeyError (no such message), TransitionNotAllowed or AnswerMismatch. Of two
        concurrent calls at most one wins: the UPDATE only matches the states it may leave.
        """
        check_response(message_id, state, answer)
        move = (
            update(inbox)
            .where(inbox.c.message_id == message_id, _may_reach(state))
            .values(state=state.value)
            .returning(*inbox.c)
        )

        def respond(connection: Connection) -> RowMapping:
            moved = connection.execute(move).mappings().one_or_none()
            if moved is None:
                found = connection.execute(
                    select(inbox.c.kind, inbox.c.state).where(inbox.c.message_id == message_id)
                ).one_or_none()
                if found is None:
                    raise KeyError(message_id)
                kind, current = found
                check_move(kind, InboxState(current), state)
                # Allowed now but not when we tried: a concurrent call moved it in between.
                raise TransitionNotAllowed(InboxState(current), state, "it moved meanwhile")
            connection.execute(insert_new(connection.dialect.name, outbox), [_outbox_row(answer)])
            return moved

        return _inbox_record(await self._transactions.run("respond", respond))

    async def inbox(
        self,
        *,
        kind: str | None = None,
        state: InboxState | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[InboxMessage]:
        """Received messages, newest first."""
        query = select(inbox)
        if kind is not None:
            query = query.where(inbox.c.kind == kind)
        if state is not None:
            query = query.where(inbox.c.state == state.value)
        query = query.order_by(inbox.c.received_at.desc(), inbox.c.message_id.desc())
        page = query.limit(limit).offset(offset)
        rows = await self._transactions.run("inbox", lambda c: c.execute(page).mappings().all())
        return [_inbox_record(row) for row in rows]

    async def worklist(self, kinds: Collection[str], *, limit: int) -> list[InboxMessage]:
        """Messages of `kinds`: NEW ones longest waiting first, then the rest newest first.

        Two queries in one transaction, each along an index on (state, received_at) or
        received_at, rather than one sorted on an expression over the whole inbox.
        """
        of_kinds = inbox.c.kind.in_(sorted(kinds))
        new = InboxState.NEW.value
        waiting = (
            select(inbox)
            .where(of_kinds, inbox.c.state == new)
            .order_by(inbox.c.received_at, inbox.c.message_id)
            .limit(limit)
        )

        def worklist(connection: Connection) -> list[RowMapping]:
            rows = list(connection.execute(waiting).mappings().all())
            if len(rows) < limit:
                rest = (
                    select(inbox)
                    .where(of_kinds, inbox.c.state != new)
                    .order_by(inbox.c.received_at.desc(), inbox.c.message_id.desc())
                    .limit(limit - len(rows))
                )
                rows += connection.execute(rest).mappings().all()
            return rows

        rows = await self._transactions.run("worklist", worklist)
        return [_inbox_record(row) for row in rows]

    async def inbox_message(self, message_id: str) -> InboxMessage | None:
        """One received message."""
        query = select(inbox).where(inbox.c.message_id == message_id)
        row = await self._transactions.run(
            "inbox_message", lambda c: c.execute(query).mappings().one_or_none()
        )
        return None if row is None else _inbox_record(row)

    async def record_read(
        self, message_id: str, reader: str, channel: ReadChannel, at: float
    ) -> InboxMessage | None:
        """One received message, its read by `reader` recorded in the same transaction."""
        query = select(inbox).where(inbox.c.message_id == message_id)

        def record_read(connection: Connection) -> RowMapping | None:
            row = connection.execute(query).mappings().one_or_none()
            if row is not None:
                connection.execute(
                    insert(read_log).values(
                        message_id=message_id,
                        thread_id=row["thread_id"],
                        reader=reader,
                        channel=channel.value,
                        at=at,
                    )
                )
            return row

        row = await self._transactions.run("record_read", record_read)
        return None if row is None else _inbox_record(row)

    async def reads(self, thread_id: str, *, limit: int = 100, offset: int = 0) -> list[ReadRecord]:
        """Who opened the bodies of a thread's messages, oldest first."""
        log = read_log
        query = (
            select(log.c.message_id, log.c.thread_id, log.c.reader, log.c.channel, log.c.at)
            .where(log.c.thread_id == thread_id)
            .order_by(log.c.at, log.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = await self._transactions.run("reads", lambda c: c.execute(query).all())
        return [
            ReadRecord(message_id, thread, reader, ReadChannel(channel), at)
            for message_id, thread, reader, channel, at in rows
        ]

    async def record_sign_in(self, sign_in: SignInRecord) -> None:
        """Commit one sign-in to the log."""
        statement = insert(sign_in_log).values(
            at=sign_in.at,
            address=sign_in.address,
            method=sign_in.method.value,
            outcome=sign_in.outcome.value,
            name=sign_in.name,
        )
        await self._transactions.run("record_sign_in", lambda c: c.execute(statement))

    async def sign_ins(self, *, limit: int = 100, offset: int = 0) -> list[SignInRecord]:
        """The sign-in log, newest first."""
        log = sign_in_log
        query = (
            select(log.c.at, log.c.address, log.c.method, log.c.outcome, log.c.name)
            .order_by(log.c.at.desc(), log.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = await self._transactions.run("sign_ins", lambda c: c.execute(query).all())
        return [
            SignInRecord(at, address, SignInMethod(method), SignInOutcome(outcome), name)
            for at, address, method, outcome, name in rows
        ]

    async def add_session(self, record: SessionRecord) -> None:
        """Keep a new session of the inbox pages."""
        await self._transactions.run(
            "add_session", lambda c: session_rows.add_session(c, sessions, record)
        )

    async def session(self, session_hash: str) -> SessionRecord | None:
        """The session with this hash, or None."""
        return await self._transactions.run(
            "session", lambda c: session_rows.find_session(c, sessions, session_hash)
        )

    async def revoke_session(self, session_hash: str, at: float) -> None:
        """Mark the session revoked; the first revocation's time is kept."""
        await self._transactions.run(
            "revoke_session", lambda c: session_rows.revoke_session(c, sessions, session_hash, at)
        )

    async def forget_sessions(self, expired_before: float) -> None:
        """Delete the sessions that expired before `expired_before`."""
        await self._transactions.run(
            "forget_sessions",
            lambda c: session_rows.forget_sessions(c, sessions, expired_before),
        )

    async def sent(self, *, limit: int = 100, offset: int = 0) -> list[SentStatus]:
        """Sent messages (not acknowledgements) with what became of them, newest first."""
        query = (
            select(outbox)
            .where(outbox.c.kind != ACK)
            .order_by(outbox.c.created_at.desc(), outbox.c.message_id.desc())
            .limit(limit)
            .offset(offset)
        )

        def sent(connection: Connection) -> list[SentStatus]:
            rows = connection.execute(query).mappings().all()
            return _with_replies(connection, [_outbox_record(row) for row in rows])

        return await self._transactions.run("sent", sent)

    async def sent_message(self, message_id: str) -> SentStatus | None:
        """What became of one sent message (None for unknown ids and acknowledgements)."""
        query = select(outbox).where(outbox.c.message_id == message_id, outbox.c.kind != ACK)

        def sent_message(connection: Connection) -> SentStatus | None:
            row = connection.execute(query).mappings().one_or_none()
            if row is None:
                return None
            return _with_replies(connection, [_outbox_record(row)])[0]

        return await self._transactions.run("sent_message", sent_message)

    async def counts(self) -> dict[str, int]:
        """Operational counts: outbox_pending (unsent, unerased), inbox_total."""
        pending = select(func.count()).select_from(outbox).where(_PENDING)
        total = select(func.count()).select_from(inbox)
        query = select(pending.scalar_subquery(), total.scalar_subquery())
        outbox_pending, inbox_total = await self._transactions.run(
            "counts", lambda c: c.execute(query).one()
        )
        return {"outbox_pending": int(outbox_pending), "inbox_total": int(inbox_total)}

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""
        return await self._transactions.run(
            "directory_serial", lambda c: highest_serial(c, gateway_directory)
        )

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher; return the one kept after."""
        return await self._transactions.run(
            "accept_directory_serial", lambda c: raise_serial(c, gateway_directory, serial, at)
        )

    async def erase_thread(self, thread_id: str, *, at: float, by: str) -> int:
        """Erase every body of the thread, inbox and outbox; one log entry, even for 0."""

        def erase(connection: Connection) -> int:
            count = sum(
                sum(_erase(connection, table, table.c.thread_id == thread_id, at).values())
                for table in (inbox, outbox)
            )
            connection.execute(insert(erasures), [_erasure_row(thread_id, at, by, count)])
            return count

        count = await self._transactions.run("erase_thread", erase)
        await self._transactions.checkpoint()
        return count

    async def erase_expired(self, before: float, *, at: float, limit: int) -> int:
        """Erase bodies older than `before` (outbox: confirmed ones only), oldest first."""
        old_inbox = (
            select(inbox.c.message_id)
            .where(inbox.c.erased_at.is_(None), inbox.c.received_at < before)
            .order_by(inbox.c.received_at, inbox.c.message_id)
            .limit(limit)
        )
        old_outbox = (
            select(outbox.c.message_id)
            .where(
                outbox.c.erased_at.is_(None),
                outbox.c.created_at < before,
                outbox.c.sent_at.is_not(None),
            )
            .order_by(outbox.c.created_at, outbox.c.message_id)
            .limit(limit)
        )

        def erase(connection: Connection) -> int:
            count: Counter[str] = Counter()
            for table, query in ((inbox, old_inbox), (outbox, old_outbox)):
                found = list(connection.execute(query).scalars())
                for chunk in chunks(found):
                    count += _erase(connection, table, table.c.message_id.in_(chunk), at)
            if count:
                rows = [_erasure_row(t, at, RETENTION, n) for t, n in sorted(count.items())]
                connection.execute(insert(erasures), rows)
            return sum(count.values())

        count = await self._transactions.run("erase_expired", erase)
        if count:
            await self._transactions.checkpoint()
        return count

    async def erasures(self, *, thread_id: str | None = None, limit: int = 100) -> list[Erasure]:
        """The erasure log, newest first, optionally of one thread."""
        query = select(
            erasures.c.thread_id, erasures.c.erased_at, erasures.c.erased_by, erasures.c.count
        )
        if thread_id is not None:
            query = query.where(erasures.c.thread_id == thread_id)
        query = query.order_by(erasures.c.erased_at.desc(), erasures.c.id.desc()).limit(limit)
        rows = await self._transactions.run("erasures", lambda c: c.execute(query).all())
        return [Erasure(*row) for row in rows]

    async def claim_submission(
        self, claim: SubmissionKey, *, fresh_after: float
    ) -> tuple[SubmissionKey, bool]:
        """Hold the key for `claim` unless a fresh claim of it is held; see GatewayStore."""
        mine = submission_keys.c.key == claim.key
        stale = delete(submission_keys).where(mine, submission_keys.c.created_at < fresh_after)
        held = select(submission_keys).where(mine)

        def claim_key(connection: Connection) -> tuple[SubmissionKey, bool]:
            connection.execute(stale)
            row = {column.name: getattr(claim, column.name) for column in submission_keys.c}
            connection.execute(insert_new(connection.dialect.name, submission_keys), [row])
            found = SubmissionKey(**connection.execute(held).mappings().one())
            enqueued = connection.execute(
                select(func.count())
                .select_from(outbox)
                .where(outbox.c.message_id == found.message_id)
            ).scalar_one()
            return found, bool(enqueued)

        return await self._transactions.run("claim_submission", claim_key)

    async def purge_submissions(self, before: float) -> int:
        """Forget idempotency keys claimed before `before`."""
        purge = delete(submission_keys).where(submission_keys.c.created_at < before)
        purged: int = await self._transactions.run(
            "purge_submissions", lambda c: c.execute(purge).rowcount
        )
        return purged

    async def save_consent(
        self, record: ConsentRecord, notices: Sequence[OutboxMessage] = ()
    ) -> None:
        """Keep `record` (replacing its consent_id's) and enqueue `notices`, in one transaction."""
        row = _consent_row(record)
        notice_rows = [_outbox_row(m) for m in notices]

        def save(connection: Connection) -> None:
            # Delete and insert: the same on both dialects, and atomic in this transaction.
            connection.execute(delete(consents).where(consents.c.consent_id == record.consent_id))
            connection.execute(insert(consents), [row])
            if notice_rows:
                connection.execute(insert_new(connection.dialect.name, outbox), notice_rows)

        await self._transactions.run("save_consent", save)

    async def consent(self, consent_id: str) -> ConsentRecord | None:
        """One consent of the register."""
        query = select(consents).where(consents.c.consent_id == consent_id)
        row = await self._transactions.run("consent", lambda c: c.execute(query).mappings().first())
        return None if row is None else _consent_record(row)

    async def consents(
        self, *, limit: int = 100, offset: int = 0, in_force_on: date | None = None
    ) -> list[ConsentRecord]:
        """The register, latest recorded first; only those in force on a day, if given."""
        query = select(consents)
        if in_force_on is not None:
            query = query.where(
                consents.c.status == ConsentStatus.GRANTED.value,
                consents.c.valid_from <= in_force_on,
                consents.c.valid_until >= in_force_on,
            )
        query = (
            query.order_by(consents.c.recorded_at.desc(), consents.c.consent_id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = await self._transactions.run("consents", lambda c: c.execute(query).mappings().all())
        return [_consent_record(row) for row in rows]

    async def consent_recipients(self, consent_id: str) -> list[str]:
        """Agencies sent a referral or transfer citing `consent_id`, sorted."""
        sharing = [MessageKind.REFERRAL.value, MessageKind.TRANSFER.value]
        query = (
            select(outbox.c.recipient)
            .where(outbox.c.consent_ref == consent_id, outbox.c.kind.in_(sharing))
            .distinct()
            .order_by(outbox.c.recipient)
        )
        found: list[str] = await self._transactions.run(
            "consent_recipients", lambda c: list(c.execute(query).scalars().all())
        )
        return found


_SCOPE_LISTS = ("agencies", "agency_kinds", "purposes", "data_categories")


def _consent_row(record: ConsentRecord) -> dict[str, Any]:
    row = {column.name: getattr(record, column.name) for column in consents.columns}
    for name in _SCOPE_LISTS:
        row[name] = json.dumps(list(row[name]))
    return row


def _consent_record(row: RowMapping) -> ConsentRecord:
    values = {column.name: row[column.name] for column in consents.columns}
    for name in _SCOPE_LISTS:
        values[name] = tuple(json.loads(values[name]))
    return ConsentRecord(**values)


def _erase(
    connection: Connection, table: Table, which: ColumnElement[bool], at: float
) -> Counter[str]:
    """Erase the bodies of `table`'s rows matching `which`: how many, by thread."""
    erased = connection.execute(
        update(table)
        .where(which, table.c.erased_at.is_(None))
        .values(envelope=None, erased_at=at)
        .returning(table.c.thread_id)
    )
    return Counter(erased.scalars().all())


def _erasure_row(thread_id: str, at: float, by: str, count: int) -> dict[str, Any]:
    return {"thread_id": thread_id, "erased_at": at, "erased_by": by, "count": count}


def _apply_withdrawals(connection: Connection, new: Sequence[InboxMessage]) -> None:
    # Look both ways: a redelivery can put a withdrawal before the message it withdraws.
    targets = {message.message_id for message in new}
    targets |= {message.in_reply_to for message in new if message.in_reply_to}
    found: list[dict[str, Any]] = []
    for chunk in chunks(sorted(targets)):
        withdrawals = select(inbox.c.in_reply_to, inbox.c.sender).where(
            inbox.c.kind == ACK,
            inbox.c.status == AckStatus.WITHDRAWN.value,
            inbox.c.in_reply_to.in_(chunk),
        )
        rows = connection.execute(withdrawals).all()
        found += [{"target": target, "by": sender} for target, sender in rows]
    if not found:
        return
    # Only the message's own sender may withdraw it; later states are left as they are.
    connection.execute(
        update(inbox)
        .where(
            inbox.c.message_id == bindparam("target"),
            inbox.c.sender == bindparam("by"),
            _WITHDRAWABLE,
        )
        .values(state=InboxState.WITHDRAWN.value),
        found,
    )


def _with_replies(connection: Connection, messages: Sequence[OutboxMessage]) -> list[SentStatus]:
    replies: dict[str, list[Reply]] = defaultdict(list)
    own: dict[str, list[Reply]] = defaultdict(list)
    ids = [message.message_id for message in messages]
    for chunk in chunks(ids):
        query = select(
            inbox.c.in_reply_to,
            inbox.c.message_id,
            inbox.c.sender,
            inbox.c.status,
            inbox.c.received_at,
            inbox.c.reason_category,
        ).where(inbox.c.kind == ACK, inbox.c.in_reply_to.in_(chunk))
        for answers, *reply in connection.execute(query).all():
            replies[answers].append(Reply(*reply))
        # This agency's own answers (its withdrawal): sender left empty, time of creation.
        query = select(
            outbox.c.in_reply_to,
            outbox.c.message_id,
            literal(""),
            outbox.c.status,
            outbox.c.created_at,
        ).where(outbox.c.kind == ACK, outbox.c.in_reply_to.in_(chunk))
        for answers, *reply in connection.execute(query).all():
            own[answers].append(Reply(*reply))
    return [
        sent_status(message, replies[message.message_id], own[message.message_id])
        for message in messages
    ]


def _outbox_row(message: OutboxMessage) -> dict[str, Any]:
    return {column.name: getattr(message, column.name) for column in outbox.columns}


def _inbox_row(message: InboxMessage) -> dict[str, Any]:
    row = {column.name: getattr(message, column.name) for column in inbox.columns}
    row["state"] = InboxState(message.state).value
    return row


def _outbox_record(row: RowMapping) -> OutboxMessage:
    return OutboxMessage(**{column.name: row[column.name] for column in outbox.columns})


def _inbox_record(row: RowMapping) -> InboxMessage:
    values = {column.name: row[column.name] for column in inbox.columns}
    values["state"] = InboxState(values["state"])
    return InboxMessage(**values)
