"""The notifier's sent log: the ids of the alerts it emailed (SQLite or PostgreSQL).

One table, one row per alert id, written after the SMTP server accepted the email. An
SQLite file is created 0600 in a folder created 0700 and refused when others may read it
(`store/engine.py`), like the other stores: it holds no case content, but its ids and times
say which threads went overdue. The table is created when missing; it has had one shape so
far, so there is no migration yet.
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

    async def was_sent(self, alert_id: str) -> bool:
        async with self._engine.connect() as connection:
            found = await connection.execute(
                select(sent_alerts.c.alert_id).where(sent_alerts.c.alert_id == alert_id)
            )
            return found.first() is not None

    async def record_sent(self, alert_id: str, at: float) -> None:
        async with self._engine.begin() as connection:
            statement = insert_new(self._engine.dialect.name, sent_alerts)
            await connection.execute(statement.values(alert_id=alert_id, sent_at=at))
