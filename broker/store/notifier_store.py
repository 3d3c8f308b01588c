"""The notifier's sent log: the keys of the emails it sent (SQLite or PostgreSQL).

One row per email key (`Email.key`: an alert id, or an arrival's recipient agency and
message id, with the recipients' language and time zone; 160 characters at most), written
after the SMTP server accepted the email. An SQLite file is created 0600 in a folder created
0700 and refused when others may read it (`store/engine.py`), like the other stores: it
holds no case content, but its ids and times say which threads went overdue. The tables are
created when missing. `sent_alerts`, the first version's table of bare alert ids, is still
read: an alert emailed before the upgrade is not emailed again in the languages of its
recipients.
"""

from sqlalchemy import Column, Float, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.engine import insert_new, make_engine

metadata = MetaData()

sent_alerts = Table(
    "sent_alerts",
    metadata,
    Column("alert_id", String(36), primary_key=True),
    Column("sent_at", Float, nullable=False),
)
sent_emails = Table(
    "sent_emails",
    metadata,
    Column("email_key", String(160), primary_key=True),
    Column("sent_at", Float, nullable=False),
)


class SqlSentLog:
    """`SentLog` on a database: `open()` before use, `close()` after."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @classmethod
    async def open(cls, url: str) -> "SqlSentLog":
        """Open (and create if needed) the log at `url`.

        Raises UnsupportedDatabase or DatabaseFilePermissionError (`make_engine`).
        """
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        return cls(engine)

    async def close(self) -> None:
        await self._engine.dispose()

    async def was_sent(self, key: str) -> bool:
        legacy = key.split("/", 1)[0]  # an alert id, as the first version recorded it
        async with self._engine.connect() as connection:
            found = await connection.execute(
                select(sent_emails.c.email_key).where(sent_emails.c.email_key == key)
            )
            if found.first() is not None:
                return True
            found = await connection.execute(
                select(sent_alerts.c.alert_id).where(sent_alerts.c.alert_id == legacy)
            )
            return found.first() is not None

    async def record_sent(self, key: str, at: float) -> None:
        async with self._engine.begin() as connection:
            statement = insert_new(self._engine.dialect.name, sent_emails)
            await connection.execute(statement.values(email_key=key, sent_at=at))
