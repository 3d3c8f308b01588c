"""The recipient's gateway process killed with SIGKILL mid-stream: nothing lost, nothing twice."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from broker.keystore import write_private, write_public
from broker.store.gateway_store import SqlGatewayStore
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    keyed_federation,
    make_gateway,
    running,
)

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

A, B = "oscc-north", "social-east"
REFERRALS = 600
TOKEN = "sigkill-test-token"


@pytest.fixture
async def keyed(tmp_path: Path) -> AsyncIterator[KeyedFederation]:
    async with keyed_federation(tmp_path / "secrets.json") as federation:
        yield federation


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def gateway_config(keyed: KeyedFederation, agency_id: str, folder: Path, port: int) -> Path:
    """Write what `caselink gateway --config` needs for `agency_id` into `folder`."""
    folder.mkdir()
    write_private(folder / "agency.key", keyed.keys[agency_id].to_bytes())
    write_public(folder / "directory.json", keyed.signed_directory)
    write_public(folder / "root.pub.json", keyed.root.public().to_bytes())
    write_private(folder / "token", TOKEN.encode())
    topology = keyed.federation.topology
    config = folder / "gateway.toml"
    config.write_text(
        f'agency_id = "{agency_id}"\n'
        'key_file = "agency.key"\n'
        'directory = "directory.json"\n'
        'root_pub = "root.pub.json"\n'
        'token_file = "token"\n'
        f'amqp_url = "{keyed.federation.url(agency_id)}"\n'
        f'store_url = "sqlite+aiosqlite:///{folder / "gateway.db"}"\n'
        f'api_listen = "127.0.0.1:{port}"\n'
        f'vhost = "{topology.vhost}"\n'
        f'user_prefix = "{topology.user_prefix}"\n'
    )
    return config


@contextmanager
def gateway_process(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "broker.cli", "gateway", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


async def healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def test_recipient_killed_mid_stream_loses_nothing(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    port = free_port()
    config = gateway_config(keyed, B, tmp_path / "b", port)
    store_b = SqlGatewayStore(f"sqlite+aiosqlite:///{tmp_path / 'b' / 'gateway.db'}")
    body = example_body(MessageKind.REFERRAL)
    async with running(make_gateway(keyed, A, tmp_path)) as gateway_a:
        with gateway_process(config) as first:
            await eventually(lambda: healthy(port), "B's gateway healthy", timeout_s=60)
            sent = [
                (await gateway_a.submit(body, kind=MessageKind.REFERRAL, recipient=B)).message_id
                for _ in range(REFERRALS)
            ]

            async def midway() -> bool:
                return (await store_b.counts()).get("inbox_total", 0) >= REFERRALS // 4

            await eventually(midway, "a quarter of the referrals stored at B", timeout_s=120)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        stored_at_kill = (await store_b.counts())["inbox_total"]
        assert stored_at_kill < REFERRALS, "the kill came too late to test anything"

        with gateway_process(config):
            await eventually(lambda: healthy(port), "B's gateway back", timeout_s=60)

            async def all_acknowledged() -> bool:
                statuses = await gateway_a.store.sent(limit=REFERRALS + 10)
                return sum(s.delivered_at is not None for s in statuses) == REFERRALS

            await eventually(all_acknowledged, "every referral acknowledged", timeout_s=240)

    inbox = await store_b.inbox(kind="referral", limit=REFERRALS + 10)
    assert sorted(m.message_id for m in inbox) == sorted(sent)
    assert await store_b.counts() == {"outbox_pending": 0, "inbox_total": REFERRALS}
    with sqlite3.connect(tmp_path / "b" / "gateway.db") as db:
        (acks_made_by_b,) = db.execute("SELECT count(*) FROM outbox").fetchone()
    assert acks_made_by_b == REFERRALS  # one `received` per referral, none for redeliveries
    acks_at_a = await gateway_a.store.inbox(kind="acknowledgement", limit=REFERRALS + 10)
    assert sorted(m.in_reply_to for m in acks_at_a) == sorted(sent)
    await store_b.close()
