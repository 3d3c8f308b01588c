"""Case data at rest in the SQL store: no decrypted body in any column or file, erasure that
leaves the files, and the gateway_0003 migration that drops the plaintext of older rows."""

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from broker.envelope import seal
from broker.gateway.incoming import decide
from broker.gateway.outgoing import Sealer
from broker.gateway.records import Erasure, Received
from broker.store import migrate
from broker.store.engine import BUSY_TIMEOUT_MS, make_engine
from broker.store.gateway_store import SqlGatewayStore
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from tests.gateway_records import delivery, incoming, new_id, outgoing
from tests.integration.store.conftest import Backend
from tests.memory_federation import memory_federation

A, B = "oscc-north", "social-east"


def marker() -> str:
    return f"Synthetic narrative {uuid.uuid4().hex}"


def received_referral(narrative: str) -> Received:
    """A referral from A to B with `narrative`, opened and decided by B as its inbox does."""
    federation = memory_federation()
    body = example_body(MessageKind.REFERRAL).model_copy(update={"narrative": narrative})
    now = int(time.time())
    raw = seal(
        body,
        kind=MessageKind.REFERRAL,
        sender=federation.keys[A],
        recipient=B,
        directory=federation.trusted,
        now=now,
        thread_id=new_thread_id(),
        message_id=new_message_id(),
    )
    decision = decide(
        raw,
        published_by=federation.topology.agency_user(A),
        sealer=Sealer(keys=federation.keys[B], directory=federation.trusted),
        topology=federation.topology,
        now=now,
    )
    assert isinstance(decision, Received)
    return decision


async def rows(url: str, *tables: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            found: list[dict[str, Any]] = []
            for table in tables:
                result = await connection.execute(text(f"SELECT * FROM {table}"))
                found += [dict(row) for row in result.mappings()]
            return found
    finally:
        await engine.dispose()


def files_of(backend: Backend) -> bytes:
    """Every byte SQLite keeps for the database (file, WAL, shared memory, journal)."""
    assert backend.url is not None
    path = Path(backend.url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))


async def test_no_column_and_no_file_holds_a_decrypted_body(sql_backend: Backend) -> None:
    narrative = marker()
    store = await sql_backend.open()
    item = received_referral(narrative)
    assert await store.store_received([item]) == [True]
    await store.close()
    assert sql_backend.url is not None
    for row in await rows(sql_backend.url, "inbox", "outbox"):
        for value in row.values():
            as_bytes = value if isinstance(value, bytes) else str(value).encode()
            assert narrative.encode() not in as_bytes
    if sql_backend.name == "sqlite":
        assert narrative.encode() not in files_of(sql_backend)


async def test_an_erased_envelope_leaves_the_sqlite_files(sql_backend: Backend) -> None:
    sealed = f"sealed bytes {uuid.uuid4().hex}".encode()
    store = await sql_backend.open()
    item = delivery(incoming(envelope=sealed))
    await store.store_received([item])
    await store.erase_thread(item.message.thread_id, at=3000.0, by="operator:tester")
    if sql_backend.name == "sqlite":
        # While the store is open: secure_delete zeroed it, the checkpoint emptied the WAL.
        assert sealed not in files_of(sql_backend)
    assert sql_backend.url is not None
    assert all(row["envelope"] is None for row in await rows(sql_backend.url, "inbox"))


def _to_0002(connection: Connection) -> None:
    command.upgrade(migrate.alembic_config("gateway", connection), "gateway_0002")


async def test_migrating_drops_the_plaintext_of_older_rows_and_logs_it(
    sql_backend: Backend,
) -> None:
    secret, thread, sent = marker(), new_id(), outgoing()
    assert sql_backend.url is not None
    engine = make_engine(sql_backend.url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_to_0002)
            for message_id in (new_id(), new_id()):
                await connection.execute(
                    text(
                        "INSERT INTO inbox (message_id, thread_id, kind, sender, body_json,"
                        " header_json, received_at, state) VALUES (:m, :t, 'referral',"
                        " 'st-marys-hospital', :b, '{}', 2000.0, 'new')"
                    ),
                    {"m": message_id, "t": thread, "b": f'{{"narrative": "{secret}"}}'},
                )
            await connection.execute(
                text(
                    "INSERT INTO outbox (message_id, thread_id, kind, recipient, routing_key,"
                    " envelope, created_at) VALUES (:m, :t, 'referral', 'x', 'rk', :e, 1.0)"
                ),
                {"m": sent.message_id, "t": sent.thread_id, "e": sent.envelope},
            )
    finally:
        await engine.dispose()

    before = time.time()
    store = await sql_backend.open()  # migrates to gateway_0003
    after = time.time()

    kept = await store.inbox()
    assert len(kept) == 2
    assert all(m.envelope is None and m.erased_at is not None for m in kept)
    [entry] = await store.erasures()
    assert (entry.thread_id, entry.erased_by, entry.count) == (thread, "migration:gateway_0003", 2)
    assert before <= entry.erased_at <= after
    # An outbox envelope is sealed for its recipient: it is kept.
    due = await store.due(now=5000.0, limit=10)
    assert [(m.message_id, m.envelope) for m in due] == [(sent.message_id, sent.envelope)]
    assert "body_json" not in (await rows(sql_backend.url, "inbox"))[0]
    if sql_backend.name == "sqlite":
        assert secret.encode() not in files_of(sql_backend)
    assert await store.erasures(thread_id=thread) == [
        Erasure(thread, entry.erased_at, "migration:gateway_0003", 2)
    ]


async def test_erasing_beside_a_reader_in_another_process_does_not_wait(tmp_path: Path) -> None:
    path = tmp_path / "gateway.db"
    store = SqlGatewayStore(f"sqlite+aiosqlite:///{path}")
    try:
        await store.create()
        item = delivery()
        await store.store_received([item])
        with sqlite3.connect(path) as reader:  # an operator's sqlite3, a backup: a long read
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM inbox").fetchone()
            started = time.monotonic()
            assert await store.erase_thread(item.message.thread_id, at=1.0, by="t") == 2
            # The checkpoint gave up at once instead of holding the store for its busy timeout.
            assert time.monotonic() - started < BUSY_TIMEOUT_MS / 1000 / 2
            reader.rollback()
    finally:
        await store.close()
