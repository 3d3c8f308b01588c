"""Async engines for the stores: SQLite (durable settings) or PostgreSQL, chosen by URL.

A SQLite file holds case data (sealed bodies, ids, who sent what to whom): it and its folder
are created private (0600, 0700) and refused when group or others may access them.
"""

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.dml import Insert

from broker.keystore import shared_mode
from broker.store.errors import DatabaseFilePermissionError, UnsupportedDatabase

BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite writer waits for another one before giving up."""

CHUNK = 500
"""Ids per IN (...) list: far below SQLite's and asyncpg's parameter limits."""

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database; they hold its pages too."""

T = TypeVar("T")


def make_engine(url: str, **options: Any) -> AsyncEngine:
    """An engine for `url`; raises UnsupportedDatabase unless SQLite or PostgreSQL, async.

    For SQLite, raises DatabaseFilePermissionError as `private_sqlite_file` does.
    """
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
        private_sqlite_file(engine.url)
        make_sqlite_durable(engine.sync_engine)
    elif name != "postgresql":
        raise UnsupportedDatabase(f"open a {name} database")
    return engine


def refuse_memory_database(url: URL) -> None:
    """Raise UnsupportedDatabase for an in-memory SQLite database: nothing would survive."""
    if url.database in (None, "", ":memory:"):
        raise UnsupportedDatabase("open an in-memory SQLite database (not durable)")


def private_sqlite_file(url: URL) -> None:
    """Create the database's folder (0700) and file (0600) if missing; refuse shared ones.

    Raises UnsupportedDatabase for an in-memory database, DatabaseFilePermissionError when
    group or others may access the folder, the file or its -wal, -shm or -journal file (SQLite
    gives these the database file's mode when it creates them). The folder is checked, not
    only the file: whoever may write it may swap the file, whoever may list it sees the
    companions come and go.
    """
    refuse_memory_database(url)
    path = Path(str(url.database))
    folder = path.absolute().parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    _refuse_shared(folder, "0700")
    with contextlib.suppress(FileExistsError):  # an existing one is checked like any other
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for checked in (path, *(path.with_name(path.name + end) for end in SQLITE_COMPANIONS)):
        _refuse_shared(checked, "0600")


def _refuse_shared(path: Path, wanted: str) -> None:
    try:
        mode = shared_mode(path)
    except FileNotFoundError:
        return  # a companion SQLite has not created (yet): it will take the file's mode
    if mode is not None:
        raise DatabaseFilePermissionError(
            f"{path} has mode {mode:o}; it must be {wanted} (others may read case data)"
        )


def make_sqlite_durable(engine: Engine) -> None:
    """WAL, synchronous=FULL, secure_delete and our own BEGIN on every connection."""

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
            # Erased bodies are overwritten with zeros, not left in free pages of the file.
            cursor.execute("PRAGMA secure_delete=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def checkpoint_wal(engine: Engine) -> bool:
    """Copy a SQLite database's WAL into its file and truncate it; False when busy.

    Outside any transaction (a checkpoint cannot run inside one). Best effort, and never
    waiting: a reader in another process (an operator's sqlite3, a backup) would otherwise
    hold the store's one thread for the whole busy timeout. What it leaves, SQLite's next
    automatic checkpoint copies; the next erasure truncates.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=0")
            try:
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = cursor.fetchone()
            finally:
                cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        finally:
            cursor.close()
    finally:
        connection.close()
    return row is not None and row[0] == 0


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
