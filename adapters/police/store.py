"""The police adapter's own store: notifications seen, referrals sent, callbacks owed.

SQLAlchemy Core on the gateway's transaction runner (SQLite file 0600 in a 0700 folder,
refused when shared; or PostgreSQL by URL). Three facts are kept so that a restart loses
nothing:
- each verified webhook (system, webhook-id) with the SHA-256 of its body and, when it was
  refused, the refusal: a retry answers the original result, for three days and more,
  not the five minutes of the replay window;
- each referral sent for a notification, with the ids allocated BEFORE it was submitted,
  committed with the webhook in one transaction (`claim`): a crash between submits is
  resumed under the same message ids (the gateway's outbox keeps one of each), and an
  accepted notification's answer is made again from these rows (it is not kept apart:
  one commit per notification, not two);
- the outbox of callbacks: the exact bytes to send, attempts, the next attempt's time.
No column holds a name or narrative: ids, police references, categories, times.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection, func, select, update

from broker.store.engine import chunks, insert_new
from broker.store.transactions import open_transactions

ID = 128
WORD = 32
HASH = 64

metadata = sa.MetaData()

notifications = sa.Table(
    "police_notifications",
    metadata,
    sa.Column("system", sa.String(WORD * 2), primary_key=True),
    sa.Column("webhook_id", sa.String(ID), primary_key=True),
    sa.Column("body_sha256", sa.String(HASH), nullable=False),
    sa.Column("received_at", sa.Double(), nullable=False),
    # NULL while being worked on (or interrupted); the HTTP status and JSON once answered.
    sa.Column("status", sa.Integer(), nullable=True),
    sa.Column("answer", sa.Text(), nullable=True),
)

referrals = sa.Table(
    "police_referrals",
    metadata,
    sa.Column("message_id", sa.String(ID), primary_key=True),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("system", sa.String(WORD * 2), nullable=False),
    sa.Column("webhook_id", sa.String(ID), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("notification_id", sa.String(ID), nullable=False),
    sa.Column("police_reference", sa.String(ID), nullable=False),
    sa.Column("child_ref", sa.String(ID), nullable=False),
    sa.Column("recipient", sa.String(WORD * 2), nullable=False),
    # The consent recorded in the gateway's register for this child, when obtained. (Stores
    # made before the register also hold consent_message_id and consent_thread_id, nullable
    # and no longer written.)
    sa.Column("consent_id", sa.String(ID), nullable=True),
    sa.Index("ix_police_referrals_webhook", "system", "webhook_id"),
)

callbacks = sa.Table(
    "police_callbacks",
    metadata,
    # The acknowledgement's message id: one callback per answer.
    sa.Column("ack_message_id", sa.String(ID), primary_key=True),
    sa.Column("system", sa.String(WORD * 2), nullable=False),
    sa.Column("webhook_id", sa.String(ID), nullable=False),
    sa.Column("event_type", sa.String(WORD * 2), nullable=False),
    sa.Column("referral_message_id", sa.String(ID), nullable=False),
    sa.Column("thread_id", sa.String(ID), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("state", sa.String(WORD), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    sa.Column("next_attempt_at", sa.Double(), nullable=True),
    sa.Column("last_status", sa.Integer(), nullable=True),
    sa.Column("last_error", sa.String(WORD), nullable=True),
    sa.Column("created_at", sa.Double(), nullable=False),
    sa.Column("finished_at", sa.Double(), nullable=True),
    sa.Index("ix_police_callbacks_due", "state", "next_attempt_at"),
)

cursor = sa.Table(
    "police_cursor",
    metadata,
    sa.Column("name", sa.String(WORD), primary_key=True),
    sa.Column("value", sa.Double(), nullable=False),
)

PENDING = "pending"
DELIVERED = "delivered"
GIVEN_UP = "given_up"
FAILING = "failing"  # shown, not stored: pending with failed attempts
INBOX_CURSOR = "inbox"


@dataclass(frozen=True)
class Seen:
    """A webhook already verified once: its body's hash and its answer, when answered."""

    body_sha256: str
    status: int | None
    answer: str | None


@dataclass(frozen=True)
class Claim:
    """What `claim` found or made for a webhook: the body hash and time first seen, a kept
    refusal, and the referrals held for it (allocated earlier when `resumed`)."""

    body_sha256: str
    received_at: float
    status: int | None
    answer: str | None
    referrals: list["SentReferral"]
    resumed: bool


@dataclass(frozen=True)
class SentReferral:
    """A referral sent (or to be sent) for one child of a notification; ids only."""

    message_id: str
    thread_id: str
    system: str
    webhook_id: str
    position: int
    notification_id: str
    police_reference: str
    child_ref: str
    recipient: str
    consent_id: str | None


@dataclass(frozen=True)
class Callback:
    """One callback owed to a police system: the exact bytes and where delivery stands."""

    ack_message_id: str
    system: str
    webhook_id: str
    event_type: str
    referral_message_id: str
    thread_id: str
    body: bytes
    state: str
    attempts: int
    next_attempt_at: float | None
    last_status: int | None
    last_error: str | None
    created_at: float
    finished_at: float | None

    @property
    def shown_state(self) -> str:
        """pending, failing (attempted, not given up), delivered or given_up."""
        return FAILING if self.state == PENDING and self.attempts else self.state


class PoliceStore:
    """The adapter's tables on the database at `url` (created on `create`)."""

    def __init__(self, url: str) -> None:
        self._transactions = open_transactions(url)

    async def create(self) -> None:
        await self._transactions.run("create", lambda c: metadata.create_all(c))

    async def close(self) -> None:
        await self._transactions.close()

    async def seen(self, system: str, webhook_id: str) -> Seen | None:
        def work(c: Connection) -> Seen | None:
            row = (
                c.execute(
                    select(notifications).where(
                        notifications.c.system == system,
                        notifications.c.webhook_id == webhook_id,
                    )
                )
                .mappings()
                .first()
            )
            return None if row is None else Seen(row["body_sha256"], row["status"], row["answer"])

        return await self._transactions.run("seen", work)

    async def claim(
        self,
        system: str,
        webhook_id: str,
        body_sha256: str,
        at: float,
        planned: Sequence[SentReferral],
    ) -> Claim:
        """Record a notification and its referrals' ids, in one transaction; say what is held.

        First time: the webhook and `planned` are committed and returned. Seen before: what
        was kept then, and nothing written: another body's hash (the caller refuses it), a
        kept refusal, or the referrals allocated then (`resumed`; `planned` is dropped).
        """
        mine = (notifications.c.system == system) & (notifications.c.webhook_id == webhook_id)

        def work(c: Connection) -> Claim:
            c.execute(
                insert_new(c.dialect.name, notifications),
                [
                    {
                        "system": system,
                        "webhook_id": webhook_id,
                        "body_sha256": body_sha256,
                        "received_at": at,
                    }
                ],
            )
            row = c.execute(select(notifications).where(mine)).mappings().one()
            kept = (row["body_sha256"], row["received_at"], row["status"], row["answer"])
            if row["body_sha256"] != body_sha256 or row["status"] is not None:
                return Claim(*kept, referrals=[], resumed=True)
            held = _referrals(c, system, webhook_id)
            if held:
                return Claim(*kept, referrals=held, resumed=True)
            if planned:
                c.execute(sa.insert(referrals), [vars(r) for r in planned])
            return Claim(*kept, referrals=list(planned), resumed=False)

        return await self._transactions.run("claim", work)

    async def answer(
        self, system: str, webhook_id: str, body_sha256: str, at: float, status: int, answer: str
    ) -> None:
        """Keep a refusal given to a webhook (claimed or not): its retries get it again.

        Accepted notifications are not kept here: their answer is made from `claim`'s rows.
        """

        def work(c: Connection) -> None:
            c.execute(
                insert_new(c.dialect.name, notifications),
                [
                    {
                        "system": system,
                        "webhook_id": webhook_id,
                        "body_sha256": body_sha256,
                        "received_at": at,
                    }
                ],
            )
            c.execute(
                update(notifications)
                .where(notifications.c.system == system, notifications.c.webhook_id == webhook_id)
                .values(status=status, answer=answer)
            )

        await self._transactions.run("answer", work)

    async def referrals_by_id(self, message_ids: Sequence[str]) -> dict[str, SentReferral]:
        if not message_ids:
            return {}

        def work(c: Connection) -> dict[str, SentReferral]:
            found: dict[str, SentReferral] = {}
            for chunk in chunks(sorted(set(message_ids))):
                rows = c.execute(
                    select(referrals).where(referrals.c.message_id.in_(list(chunk)))
                ).mappings()
                found.update((row["message_id"], SentReferral(**row)) for row in rows)
            return found

        return await self._transactions.run("referrals", work)

    async def cursor(self) -> float:
        def work(c: Connection) -> float:
            value = c.execute(select(cursor.c.value).where(cursor.c.name == INBOX_CURSOR)).scalar()
            return float(value) if value is not None else 0.0

        return await self._transactions.run("cursor", work)

    async def owe(self, owed: Sequence[Callback], cursor_at: float) -> None:
        """Add callbacks (one kept per acknowledgement) and move the inbox cursor, together."""

        def work(c: Connection) -> None:
            if owed:
                c.execute(insert_new(c.dialect.name, callbacks), [vars(cb) for cb in owed])
            moved = c.execute(
                update(cursor)
                .where(cursor.c.name == INBOX_CURSOR, cursor.c.value < cursor_at)
                .values(value=cursor_at)
            )
            if moved.rowcount == 0:
                c.execute(
                    insert_new(c.dialect.name, cursor),
                    [{"name": INBOX_CURSOR, "value": cursor_at}],
                )

        await self._transactions.run("owe", work)

    async def owed(self, ack_message_ids: Sequence[str]) -> set[str]:
        """Which of these acknowledgements have a callback already."""
        if not ack_message_ids:
            return set()

        def work(c: Connection) -> set[str]:
            column = callbacks.c.ack_message_id
            found: set[str] = set()
            for chunk in chunks(sorted(set(ack_message_ids))):
                rows = c.execute(select(column).where(column.in_(list(chunk))))
                found.update(row[0] for row in rows)
            return found

        return await self._transactions.run("owed", work)

    async def due(self, now: float, limit: int) -> list[Callback]:
        """Pending callbacks whose next attempt is due, soonest first."""

        def work(c: Connection) -> list[Callback]:
            rows = c.execute(
                select(callbacks)
                .where(callbacks.c.state == PENDING, callbacks.c.next_attempt_at <= now)
                .order_by(callbacks.c.next_attempt_at, callbacks.c.created_at)
                .limit(limit)
            ).mappings()
            return [Callback(**row) for row in rows]

        return await self._transactions.run("due", work)

    async def next_due(self) -> float | None:
        """When the soonest pending callback is due; None when none is pending."""

        def work(c: Connection) -> float | None:
            value = c.execute(
                select(func.min(callbacks.c.next_attempt_at)).where(callbacks.c.state == PENDING)
            ).scalar()
            return None if value is None else float(value)

        return await self._transactions.run("next_due", work)

    async def attempted(
        self,
        ack_message_id: str,
        *,
        state: str,
        next_attempt_at: float | None,
        status: int | None,
        error: str | None,
        at: float,
    ) -> None:
        """Record one delivery attempt and what follows it."""
        finished = at if state in (DELIVERED, GIVEN_UP) else None

        def work(c: Connection) -> None:
            c.execute(
                update(callbacks)
                .where(callbacks.c.ack_message_id == ack_message_id)
                .values(
                    state=state,
                    attempts=callbacks.c.attempts + 1,
                    next_attempt_at=next_attempt_at,
                    last_status=status,
                    last_error=error,
                    finished_at=finished,
                )
            )

        await self._transactions.run("attempted", work)

    async def callbacks(
        self, *, state: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[Callback]:
        """Callbacks newest first; `state` as shown (pending, failing, delivered, given_up)."""

        def work(c: Connection) -> list[Callback]:
            query = select(callbacks)
            if state == FAILING:
                query = query.where(callbacks.c.state == PENDING, callbacks.c.attempts > 0)
            elif state == PENDING:
                query = query.where(callbacks.c.state == PENDING, callbacks.c.attempts == 0)
            elif state is not None:
                query = query.where(callbacks.c.state == state)
            query = query.order_by(callbacks.c.created_at.desc()).limit(limit).offset(offset)
            return [Callback(**row) for row in c.execute(query).mappings()]

        return await self._transactions.run("callbacks", work)

    async def callback_counts(self) -> dict[str, int]:
        """How many callbacks stand in each shown state (all four keys present)."""

        def work(c: Connection) -> dict[str, int]:
            failing = sa.case((callbacks.c.attempts > 0, 1), else_=0)
            rows = c.execute(
                select(callbacks.c.state, failing.label("failing"), func.count()).group_by(
                    callbacks.c.state, failing
                )
            ).all()
            counts = dict.fromkeys((PENDING, FAILING, DELIVERED, GIVEN_UP), 0)
            for state, is_failing, count in rows:
                key = FAILING if state == PENDING and is_failing else state
                counts[key] = counts.get(key, 0) + int(count)
            return counts

        return await self._transactions.run("callback_counts", work)


def _referrals(c: Connection, system: str, webhook_id: str) -> list[SentReferral]:
    rows = c.execute(
        select(referrals)
        .where(referrals.c.system == system, referrals.c.webhook_id == webhook_id)
        .order_by(referrals.c.position)
    ).mappings()
    return [SentReferral(**row) for row in rows]
