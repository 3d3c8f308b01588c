"""Run a store operation as one function over one transaction, on SQLite or PostgreSQL.

A store operation is a plain function of a SQLAlchemy `Connection`; where it runs depends on
the database:
- SQLite: in the store's own database thread, the whole transaction in one hand-off. Through
  an async driver every statement, the BEGIN and the COMMIT were each a round trip between
  the event loop and the driver's thread (about 16 per transaction, 2 ms of CPU), and under
  load each waited for both threads to be scheduled: the outbox's commits took 25 ms at
  half of the gateway's top rate, most of a referral's latency.
- PostgreSQL: on the async engine (asyncpg), through `run_sync`; nothing to gain there.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.engine import (
    checkpoint_wal,
    make_engine,
    make_sqlite_durable,
    private_sqlite_file,
)
from broker.store.errors import UnsupportedDatabase, translate

T = TypeVar("T")

SQLITE_DRIVER = "sqlite+aiosqlite"  # the URL every store takes for SQLite

Work = Callable[[Connection], T]


class Transactions(Protocol):
    """Runs `work` in one transaction: committed when it returns, rolled back when it raises.

    Database failures come out as StoreError (StoreUnavailable when worth retrying); what
    `work` raises itself (KeyError, a lifecycle error) comes out unchanged.
    """

    async def run(self, operation: str, work: Work[T]) -> T: ...

    async def checkpoint(self) -> None:
        """After erasing: leave no erased content in the database's write-ahead log.

        SQLite: copy the WAL into the database file (where `secure_delete` zeroed the erased
        content) and truncate it. PostgreSQL: nothing (its own WAL and vacuum apply).
        """

    async def close(self) -> None: ...


def open_transactions(url: str) -> Transactions:
    """Transactions on the database at `url` (sqlite+aiosqlite:// or postgresql+asyncpg://).

    Raises UnsupportedDatabase for anything else, as make_engine does, and
    DatabaseFilePermissionError for a SQLite file, or folder, that others may read.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnsupportedDatabase("open the database", exc) from exc
    if parsed.drivername != SQLITE_DRIVER:
        return AsyncTransactions(make_engine(url))  # PostgreSQL, or refused there
    private_sqlite_file(parsed)
    # The standard library's driver: this thread is the only one that touches it.
    engine = create_engine(parsed.set(drivername="sqlite"), hide_parameters=True)
    return SqliteThread(engine)


class SqliteThread:
    """Every transaction on one thread of its own: SQLite has one writer at a time anyway.

    Like an engine, it may be used again after `close()`: the thread starts on demand.
    """

    def __init__(self, engine: Engine) -> None:
        make_sqlite_durable(engine)
        self._engine = engine
        self._thread: ThreadPoolExecutor | None = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        return self._thread

    async def run(self, operation: str, work: Work[T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor(), self._transaction, operation, work)

    def _transaction(self, operation: str, work: Work[T]) -> T:
        try:
            with self._engine.begin() as connection:
                return work(connection)
        except (SQLAlchemyError, OSError) as exc:
            raise translate(operation, exc) from exc

    async def checkpoint(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor(), self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            checkpoint_wal(self._engine)
        except (SQLAlchemyError, OSError) as exc:
            raise translate("checkpoint", exc) from exc

    async def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(thread, self._engine.dispose)
            thread.shutdown(wait=True)


class AsyncTransactions:
    """Transactions on an async engine: the work runs in SQLAlchemy's greenlet bridge."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self, operation: str, work: Work[T]) -> T:
        try:
            async with self._engine.begin() as connection:
                return await connection.run_sync(work)
        except (SQLAlchemyError, OSError) as exc:
            raise translate(operation, exc) from exc

    async def checkpoint(self) -> None:
        """Nothing: PostgreSQL's WAL is its own (see docs/architecture.md)."""

    async def close(self) -> None:
        await self._engine.dispose()
