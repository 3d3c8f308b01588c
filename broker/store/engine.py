"""Async engines for the stores: SQLite (durable settings) or PostgreSQL, chosen by URL."""

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from broker.store.errors import UnsupportedDatabase

BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another one before giving up."""

CHUNK = 500
"""Ids per IN (...) list: far below SQLite's and asyncpg's parameter limits."""

T = TypeVar("T")


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine for `url`; raises UnsupportedDatabase unless SQLite or PostgreSQL, async."""
    try:
        # Error messages and logs must never show parameters: a decrypted body is one.
        # Pinging before each checkout finds a PostgreSQL server that went away; a SQLite
        # file cannot go away, and there the ping costs more than a small transaction.
        ping = not url.startswith("sqlite")
        engine = create_async_engine(url, hide_parameters=True, pool_pre_ping=ping, **options)
    except (ArgumentError, InvalidRequestError) as exc:
        raise UnsupportedDatabase("open the database", exc) from exc
    name = engine.dialect.name
    if name == "sqlite":
        refuse_memory_database(engine.url)
        make_sqlite_durable(engine.sync_engine)
    elif name != "postgresql":
        raise UnsupportedDatabase(f"open a {name} database")
    return engine


def refuse_memory_database(url: URL) -> None:
    """Raise UnsupportedDatabase for an in-memory SQLite database: nothing would survive."""
    if url.database in (None, "", ":memory:"):
        raise UnsupportedDatabase("open an in-memory SQLite database (not durable)")


def make_sqlite_durable(engine: Engine) -> None:
    """WAL, synchronous=FULL and our own BEGIN on every connection `engine` opens."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # We send BEGIN ourselves (below): the driver would leave reads and DDL outside any
        # transaction, so a failed migration could leave half a schema behind.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            row = cursor.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                raise UnsupportedDatabase("switch SQLite to WAL mode")
            # FULL: a commit survives power loss, not only a process crash. Never lower it.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def insert_new(dialect: str, table: Table) -> Insert:
    """INSERT that skips rows whose primary key is already stored (both dialects)."""
    keys = [column.name for column in table.primary_key.columns]
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
