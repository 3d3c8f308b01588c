"""What only the SQL store promises: durability, restarts, migrations, atomic failures, errors."""

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from broker.gateway.records import InboxState, ReadChannel, Received
from broker.store import migrate
from broker.store.engine import BUSY_TIMEOUT_MS, make_engine
from broker.store.errors import StoreError, StoreUnavailable, UnsupportedDatabase
from broker.store.gateway_store import SqlGatewayStore
from broker.store.gateway_tables import metadata
from tests.gateway_records import answer, delivery, incoming, outgoing
from tests.integration.store.conftest import Backend

SECRET = "Synthetic secret narrative 7f3a"


async def test_a_new_store_on_the_same_database_sees_everything(sql_backend: Backend) -> None:
    first = await sql_backend.open()
    message, item = outgoing(created_at=999.0), delivery()
    await first.enqueue([message])
    await first.store_received([item])
    accepted = answer(item.message, "accepted", created_at=1001.0)
    await first.respond(item.message.message_id, InboxState.ACCEPTED, accepted)
    await first.close()

    again = await sql_backend.open()
    assert await again.due(now=2000.0, limit=10) == [message, item.ack, accepted]
    assert await again.inbox() == [replace(item.message, state=InboxState.ACCEPTED)]
    assert await again.store_received([item]) == [False]
    assert await again.counts() == {"outbox_pending": 3, "inbox_total": 1}


async def test_enqueue_is_committed_when_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    store = SqlGatewayStore(f"sqlite+aiosqlite:///{path}")
    await store.create()
    message = outgoing()
    await store.enqueue([message])
    # Another connection, as another process would read it; the store stays open.
    with sqlite3.connect(path) as other:
        rows = other.execute("SELECT message_id, envelope FROM outbox").fetchall()
    await store.close()
    assert rows == [(message.message_id, message.envelope)]


async def test_sqlite_runs_wal_with_full_sync_and_secure_delete(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "secure_delete")
            ]
    finally:
        await engine.dispose()
    # synchronous 2 is FULL; secure_delete overwrites erased content with zeros.
    assert pragmas == ["wal", 2, BUSY_TIMEOUT_MS, 1]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///:memory:",
        "sqlite+aiosqlite://",
        "sqlite:///sync.db",
        "mysql+nosuchdriver://u@h/db",
        "not a url",
    ],
)
def test_unsupported_databases_are_refused(url: str) -> None:
    with pytest.raises(UnsupportedDatabase):
        SqlGatewayStore(url)


async def test_create_is_idempotent_and_tracks_its_own_version(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    await store.create()
    await store.enqueue([message := outgoing()])
    await store.create()
    assert await store.due(now=2000.0, limit=1) == [message]
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    try:
        async with engine.connect() as connection:
            revision = await connection.run_sync(migrate.current, "gateway")
            differences = await connection.run_sync(_differences)
    finally:
        await engine.dispose()
    assert revision == migrate.head("gateway")
    assert differences == []


async def test_migrations_go_down_and_up_again(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    await store.close()
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade)
            assert await connection.run_sync(migrate.current, "gateway") is None
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            assert not {"inbox", "outbox", "reads", "sign_ins"} & tables
            await connection.run_sync(migrate.upgrade, "gateway")
            assert await connection.run_sync(migrate.current, "gateway") == migrate.head("gateway")
    finally:
        await engine.dispose()


def _downgrade(connection: Connection) -> None:
    command.downgrade(migrate.alembic_config("gateway", connection), "base")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"version_table": "caselink_gateway_version", "compare_type": True}
    )
    return list(compare_metadata(context, metadata))


async def test_a_failing_batch_stores_nothing_of_it(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    good, message = delivery(), incoming()
    # Deliberately invalid (NOT NULL): the ack's insert fails after both inbox rows went in.
    broken_ack = replace(answer(message, "received"), routing_key=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        await store.store_received([good, Received(message=message, ack=broken_ack)])
    assert await store.counts() == {"outbox_pending": 0, "inbox_total": 0}


async def test_errors_never_repeat_a_body(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    # Deliberately invalid (NOT NULL) beside an envelope: the failing statement carries both.
    broken = incoming(header_json=None)
    with pytest.raises(StoreError) as caught:
        await store.store_received([delivery(incoming(envelope=SECRET.encode())), delivery(broken)])
    assert SECRET not in str(caught.value)
    assert SECRET not in str(caught.value.__cause__)
    assert await store.counts() == {"outbox_pending": 0, "inbox_total": 0}


async def test_a_failing_answer_leaves_the_state_as_it_was(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    message = incoming()
    await store.store_received([delivery(message)])
    # Deliberately invalid (NOT NULL): the answer's insert fails after the state moved.
    broken = replace(answer(message, "accepted"), routing_key=None)  # type: ignore[arg-type]
    with pytest.raises(StoreError):
        await store.respond(message.message_id, InboxState.ACCEPTED, broken)
    assert await store.inbox_message(message.message_id) == message


async def test_mark_sent_handles_more_ids_than_one_statement_takes(sql_backend: Backend) -> None:
    store = await sql_backend.open()
    messages = [outgoing(created_at=float(n)) for n in range(1200)]
    for message in messages:
        await store.enqueue([message])
    await store.mark_sent([m.message_id for m in messages[:1100]], at=1.0)
    assert await store.due(now=2000.0, limit=1000) == messages[1100:]


async def test_a_store_without_tables_raises_a_store_error(tmp_path: Path) -> None:
    store = SqlGatewayStore(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    try:
        with pytest.raises(StoreError, match=r"^due failed: OperationalError$"):
            await store.due(now=0.0, limit=1)
    finally:
        await store.close()


async def test_an_unreachable_database_is_worth_retrying() -> None:
    store = SqlGatewayStore("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    try:
        with pytest.raises(StoreUnavailable, match=r"^counts failed"):
            await store.counts()
    finally:
        await store.close()


async def test_an_upgrade_from_0002_keeps_the_outbox_with_no_author(
    sql_backend: Backend,
) -> None:
    # A gateway upgraded in place: what it held at 0002 is still there, with no author.
    store = await sql_backend.open()
    await store.close()
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    message, item = outgoing(), delivery()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to, "gateway_0002")
            await connection.execute(
                text(
                    "INSERT INTO outbox (message_id, thread_id, kind, recipient, routing_key,"
                    " envelope, created_at, attempts, next_attempt_at)"
                    " VALUES (:id, :thread, 'referral', 'x', 'rk', :envelope, 1.0, 0, 0)"
                ),
                {"id": message.message_id, "thread": message.thread_id, "envelope": b"sealed"},
            )
            await connection.run_sync(migrate.upgrade, "gateway")
    finally:
        await engine.dispose()
    again = await sql_backend.open()
    [kept] = await again.due(now=10.0, limit=10)
    assert (kept.message_id, kept.envelope, kept.author) == (message.message_id, b"sealed", None)
    await again.store_received([item])
    assert await again.record_read(item.message.message_id, "ana", ReadChannel.API, 5.0)


def _downgrade_to(connection: Connection, revision: str) -> None:
    command.downgrade(migrate.alembic_config("gateway", connection), revision)
