"""`caselink gateway`: erase one thread's bodies; refuse a database others may read."""

import asyncio
import getpass
import subprocess
import sys
from pathlib import Path

import pytest

from broker.gateway.records import Erasure, InboxMessage
from broker.keystore import write_private, write_public
from broker.store.gateway_store import SqlGatewayStore
from schemas.ids import new_thread_id
from tests.gateway_records import delivery, incoming
from tests.gateway_users import users_toml
from tests.integration.rabbit_federation import make_keys

AGENCY = "oscc-north"


def caselink(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "broker.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def config_in(folder: Path, store_url: str) -> Path:
    """A gateway config in `folder` with real keys and directory, and `store_url`."""
    root, keys, signed = make_keys([AGENCY, "social-east"])
    write_private(folder / "agency.key", keys[AGENCY].to_bytes())
    write_private(folder / "users.toml", users_toml().encode())
    write_public(folder / "directory.json", signed)
    write_public(folder / "root.pub.json", root.public().to_bytes())
    config = folder / "gateway.toml"
    config.write_text(
        f'agency_id = "{AGENCY}"\n'
        'key_file = "agency.key"\n'
        'directory = "directory.json"\n'
        'root_pub = "root.pub.json"\n'
        'users_file = "users.toml"\n'
        'amqp_url = "amqp://nobody@127.0.0.1:1/none"\n'
        f'store_url = "{store_url}"\n'
        'api_listen = "127.0.0.1:1"\n'
    )
    return config


async def _seed(url: str, thread: str) -> None:
    store = SqlGatewayStore(url)
    try:
        await store.create()
        await store.store_received([delivery(incoming(thread_id=thread)), delivery()])
    finally:
        await store.close()


async def _read(url: str, thread: str) -> tuple[list[InboxMessage], list[Erasure]]:
    store = SqlGatewayStore(url)
    try:
        return await store.inbox(), await store.erasures(thread_id=thread)
    finally:
        await store.close()


def test_erase_erases_one_threads_bodies_and_logs_who_asked(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gateway.db'}"
    config, thread = config_in(tmp_path, url), new_thread_id()
    asyncio.run(_seed(url, thread))

    result = caselink("gateway", "erase", "--config", config, "--thread", thread)

    assert result.returncode == 0, result.stderr
    # The referral and our `received` ack of it.
    assert result.stdout == f"erased 2 bodies of thread {thread}\n"
    inbox, log = asyncio.run(_read(url, thread))
    assert {m.thread_id: m.envelope is None for m in inbox} == {
        m.thread_id: m.thread_id == thread for m in inbox
    }
    [entry] = log
    assert (entry.thread_id, entry.erased_by, entry.count) == (
        thread,
        f"operator:{getpass.getuser()}",
        2,
    )
    again = caselink("gateway", "--config", config, "erase", "--thread", thread)
    assert again.stdout == f"erased 0 bodies of thread {thread}\n"


@pytest.mark.parametrize("thread", ["not-a-thread", "", "00000000-0000-0000-0000-000000000000"])
def test_erase_takes_a_thread_id_only(tmp_path: Path, thread: str) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'gateway.db'}"
    result = caselink("gateway", "erase", "--config", config_in(tmp_path, url), "--thread", thread)
    assert result.returncode == 2
    assert result.stderr == "caselink: --thread must be a thread id (a UUIDv4)\n"


def test_erase_without_a_config_is_a_usage_error() -> None:
    result = caselink("gateway", "erase", "--thread", new_thread_id())
    assert (result.returncode, result.stderr) == (2, "caselink: --config is required\n")


def test_the_gateway_refuses_a_database_others_may_read_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    database = data / "gateway.db"
    database.touch(mode=0o600)
    database.chmod(0o644)
    config = config_in(tmp_path, f"sqlite+aiosqlite:///{database}")
    for args in (["gateway", "--config", config], ["gateway", "erase", "--config", config]):
        result = caselink(*args, *(["--thread", new_thread_id()] if "erase" in args else []))
        assert result.returncode == 2
        assert result.stderr == (
            f"caselink: database_file_permissions: {database} has mode 644; it must be 0600"
            " (others may read case data)\n"
        )


def test_the_gateway_refuses_a_database_folder_others_may_enter(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    config = config_in(tmp_path, f"sqlite+aiosqlite:///{shared / 'gateway.db'}")
    result = caselink("gateway", "--config", config)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"database_file_permissions: {shared} has mode 755; it must be 0700" in result.stderr
