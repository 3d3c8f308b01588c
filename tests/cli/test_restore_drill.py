"""The restore drill of docs/operations.md: a gateway's SQLite store backed up while it is being
written (`caselink gateway backup`), restored to a new file, and a gateway started on the copy
finds its inbox and outbox as they were at the backup."""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.gateway.records import InboxMessage, OutboxMessage
from broker.store.gateway_store import SqlGatewayStore
from tests.cli.test_gateway_cli import caselink, config_in
from tests.gateway_records import delivery, incoming, outgoing
from tests.gateway_users import PASSWORDS, SYSTEM_TOKEN
from tests.integration.gateway_harness import free_port

BATCH = 10


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _seed(url: str) -> tuple[list[InboxMessage], list[OutboxMessage]]:
    """Received referrals (each with its `received` ack queued) and sent ones, some confirmed."""
    store = SqlGatewayStore(url)
    try:
        await store.create()
        received = [delivery(incoming()) for _ in range(30)]
        await store.store_received(received)
        sent = [outgoing(recipient="social-east") for _ in range(12)]
        await store.enqueue(sent)
        await store.mark_sent([m.message_id for m in sent[:8]], at=time.time())
        return [r.message for r in received], sent
    finally:
        await store.close()


async def _keep_writing(
    url: str, stop: asyncio.Event, written: list[list[str]], committed: asyncio.Condition
) -> None:
    """The gateway at work: batches of deliveries committed one transaction each; each
    commit is told through `committed`."""
    store = SqlGatewayStore(url)
    try:
        while not stop.is_set():
            batch = [delivery(incoming()) for _ in range(BATCH)]
            await store.store_received(batch)
            async with committed:
                written.append([r.message.message_id for r in batch])
                committed.notify_all()
            await asyncio.sleep(0.05)
    finally:
        await store.close()


async def _backup_while_writing(
    config: Path, url: str, out: Path
) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    stop, written, committed = asyncio.Event(), list[list[str]](), asyncio.Condition()

    async def batches(count: int) -> None:
        async with committed:
            await asyncio.wait_for(committed.wait_for(lambda: len(written) >= count), 30)

    writer = asyncio.create_task(_keep_writing(url, stop, written, committed))
    await batches(3)  # a few batches in before the backup starts
    result = await asyncio.to_thread(
        caselink, "gateway", "backup", "--config", config, "--out", out
    )
    await batches(len(written) + 2)  # and more after it
    stop.set()
    await writer
    return result, written


def _restore(backup: Path, folder: Path) -> Path:
    """What the operator does: the copy into a fresh private folder, as the store's file."""
    folder.mkdir(mode=0o700)
    restored = folder / "gateway.db"
    os.close(os.open(restored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    shutil.copyfile(backup, restored)
    return restored


def _restored_config(tmp_path: Path, store: Path) -> tuple[Path, int]:
    """The same gateway settings, on the restored file, with a free port for its API."""
    folder = tmp_path / "restored-config"
    folder.mkdir()
    config = config_in(folder, sqlite_url(store))
    port = free_port()
    text = config.read_text().replace(
        'api_listen = "127.0.0.1:1"', f'api_listen = "127.0.0.1:{port}"'
    )
    config.write_text(text)
    return config, port


@pytest.mark.slow
def test_a_store_backed_up_in_use_restores_to_a_gateway_that_finds_its_inbox_and_outbox(
    tmp_path: Path,
) -> None:
    live = tmp_path / "live" / "gateway.db"
    url = sqlite_url(live)
    config = config_in(tmp_path, url)
    received, sent = asyncio.run(_seed(url))
    out = tmp_path / "backups" / "gateway-backup.db"
    out.parent.mkdir()

    result, written = asyncio.run(_backup_while_writing(config, url, out))

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"backed up the gateway's store to {out} (")
    assert out.stat().st_mode & 0o777 == 0o600
    assert len(written) > 2  # the store was written during the backup

    restored = _restore(out, tmp_path / "restored")
    restored_config, port = _restored_config(tmp_path, restored)
    # RabbitMQ is unreachable: the gateway serves its API from the store and keeps retrying.
    process = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "gateway", "--config", str(restored_config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(f"{base}/healthz", process)
        with httpx.Client(base_url=base, timeout=10) as client:
            inbox_ids = _all_ids(client, "/v1/inbox", auth=("ana", PASSWORDS["ana"]))
            sent_ids = _all_ids(
                client, "/v1/sent", headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"}
            )
    finally:
        process.terminate()
        process.communicate(timeout=30)
    # Everything committed before the backup began is there...
    assert {m.message_id for m in received} <= inbox_ids
    # ...and the copy is one committed state: each batch written meanwhile is whole or absent.
    for batch in written:
        assert set(batch) <= inbox_ids or not set(batch) & inbox_ids
    assert not set(written[-1]) & inbox_ids  # written after the copy was taken
    assert {m.message_id for m in sent} <= sent_ids


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> None:
    """Until the gateway answers (503 too: RabbitMQ is unreachable); fail if it exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1].decode()
        try:
            if httpx.get(url, timeout=2).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"no answer at {url} within 30 s")


def _all_ids(client: httpx.Client, path: str, **options: Any) -> set[str]:
    """Every message id of a paged list of the API."""
    ids: set[str] = set()
    offset = 0
    while True:
        answer = client.get(path, params={"limit": 1000, "offset": offset}, **options)
        assert answer.status_code == 200, answer.text
        page = answer.json()
        ids |= {m["message_id"] for m in page}
        if len(page) < 1000:
            return ids
        offset += 1000


def test_a_backup_never_overwrites_and_never_creates_a_store(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "data" / "gateway.db")
    config = config_in(tmp_path, url)
    missing = caselink("gateway", "backup", "--config", config, "--out", tmp_path / "b.db")
    assert missing.returncode == 2
    assert missing.stderr.startswith("caselink: backup_refused: no database at ")
    assert not (tmp_path / "data" / "gateway.db").exists()

    asyncio.run(_seed(url))
    (tmp_path / "taken.db").write_bytes(b"an older backup")
    taken = caselink("gateway", "backup", "--config", config, "--out", tmp_path / "taken.db")
    assert (taken.returncode, taken.stderr) == (
        2,
        f"caselink: backup_refused: {tmp_path / 'taken.db'} exists; a backup is never"
        " overwritten\n",
    )
    assert (tmp_path / "taken.db").read_bytes() == b"an older backup"


def test_a_postgresql_store_is_pointed_to_pg_dump(tmp_path: Path) -> None:
    config = config_in(tmp_path, "postgresql+asyncpg://caselink@127.0.0.1/caselink")
    result = caselink("gateway", "backup", "--config", config, "--out", tmp_path / "b.db")
    assert result.returncode == 2
    assert "pg_dump" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "b.db").exists()
