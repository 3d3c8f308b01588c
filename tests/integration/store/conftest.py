"""Store back ends for the contract tests (gateway and tracker): memory, SQLite, PostgreSQL.

PostgreSQL: one fresh database `caselink_test_<random>` per test run, created through an
admin connection to `postgres` and dropped at the end; each test drops its tables after it.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type hints
import pytest

from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.ports import GatewayStore
from broker.store.gateway_store import SqlGatewayStore
from broker.store.tracker_store import SqlTrackerStore
from broker.tracker.ledger import TrackerLedger
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.ports import TrackerStore

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}


def _run(coroutine: Awaitable[Any]) -> Any:
    # A thread of its own: the session fixture must not touch pytest-asyncio's event loops.
    async def main() -> Any:
        return await coroutine

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def _admin(sql: str, database: str = "postgres") -> None:
    connection = await asyncpg.connect(**PG, database=database)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database for this run: its URL; dropped (forcibly) when the run ends."""
    name = f"caselink_test_{uuid.uuid4().hex[:12]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://{PG['user']}@{PG['host']}:{PG['port']}/{name}"
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Backend:
    """Opens stores on one database; `reopen` simulates a process restart on the same data."""

    name: str
    durable: bool
    _open: Callable[[], GatewayStore]
    url: str | None = None
    opened: list[GatewayStore] = field(default_factory=list)

    async def open(self) -> GatewayStore:
        store = self._open()
        self.opened.append(store)
        await store.create()
        return store


BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if name == "memory":
        memory = MemoryGatewayStore()
        return Backend(name, durable=False, _open=lambda: memory)
    if name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    return Backend(name, durable=True, _open=lambda: SqlGatewayStore(url), url=url)


async def _cleanup(backend: Backend) -> None:
    for store in backend.opened:
        await store.close()
    if backend.name == "postgres" and backend.url:
        database = backend.url.rsplit("/", 1)[1]
        await _admin(
            "DROP TABLE IF EXISTS outbox, inbox, caselink_gateway_version", database=database
        )


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """Every implementation of GatewayStore."""
    opened = _backend(request.param, request, tmp_path)
    yield opened
    await _cleanup(opened)


@pytest.fixture(params=SQL_BACKENDS)
async def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """The durable implementations only."""
    opened = _backend(request.param, request, tmp_path)
    yield opened
    await _cleanup(opened)


@pytest.fixture
async def store(backend: Backend) -> GatewayStore:
    """A created, empty store of each implementation."""
    return await backend.open()


# The tracker's store: same databases, its own tables.

COORDINATORS = ("coord-national", "coord-north")
TRACKER_TABLES = (
    "events, threads, thread_agencies, alerts, page_views, dashboard_sessions, sign_ins, "
    "caselink_tracker_version"
)


@dataclass
class TrackerBackend:
    """Opens tracker stores on one database, each under a ledger with DEFAULT_POLICY;
    `open` again is a process restart on the same data (memory: the same store object).

    `open(coordinators=...)` gives the ledger other coordinator ids.
    """

    name: str
    durable: bool
    _open: Callable[[], TrackerStore]
    url: str | None = None
    opened: list[TrackerStore] = field(default_factory=list)

    async def open(self, coordinators: Sequence[str] = COORDINATORS) -> TrackerLedger:
        store = self._open()
        self.opened.append(store)
        await store.create()
        return TrackerLedger(store, DEFAULT_POLICY, coordinators)


def _tracker_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> TrackerBackend:
    if name == "memory":
        memory = MemoryTrackerStore()
        return TrackerBackend(name, durable=False, _open=lambda: memory)
    if name == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    else:
        url = request.getfixturevalue("pg_database")
    return TrackerBackend(
        name,
        durable=True,
        _open=lambda: SqlTrackerStore(url),
        url=url,
    )


async def _tracker_cleanup(backend: TrackerBackend) -> None:
    for store in backend.opened:
        await store.close()
    if backend.name == "postgres" and backend.url:
        database = backend.url.rsplit("/", 1)[1]
        await _admin(f"DROP TABLE IF EXISTS {TRACKER_TABLES}", database=database)


@pytest.fixture(params=BACKENDS)
async def tracker_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TrackerBackend]:
    """Every implementation of TrackerStore (DEFAULT_POLICY, coordinators COORDINATORS)."""
    opened = _tracker_backend(request.param, request, tmp_path)
    yield opened
    await _tracker_cleanup(opened)


@pytest.fixture(params=SQL_BACKENDS)
async def sql_tracker_backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[TrackerBackend]:
    """The durable implementations of TrackerStore only."""
    opened = _tracker_backend(request.param, request, tmp_path)
    yield opened
    await _tracker_cleanup(opened)


@pytest.fixture
async def tracker(tracker_backend: TrackerBackend) -> TrackerLedger:
    """A ledger over a created, empty tracker store of each implementation."""
    return await tracker_backend.open()
