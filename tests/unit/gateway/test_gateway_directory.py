"""A running gateway follows its directory file: a revocation applies without a restart, an
older directory is refused at start and on reload (broker/live_directory.py), on the
in-memory broker."""

import json
import time
from pathlib import Path
from typing import Any

import pytest

from broker.envelope import revoke_key
from broker.envelope.errors import DirectoryRollback
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.service import Gateway
from broker.keystore import write_public
from broker.live_directory import DirectoryFile
from broker.topology.names import ALERTS_QUEUE, DEAD_LETTER_QUEUE
from schemas.ids import new_message_id
from tests.memory_federation import MemoryFederation, memory_federation
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
WAIT_S = 10.0


def gateway_b(fed: MemoryFederation, folder: Path, store: MemoryGatewayStore) -> Gateway:
    """B's gateway following folder/directory.json (written from the federation's)."""
    write_public(folder / "directory.json", fed.signed_directory)
    write_public(folder / "root.pub.json", fed.root.public().to_bytes())
    return Gateway(
        keys=fed.keys[B],
        directory=fed.trusted,
        store=store,
        publisher=fed.agency_publisher(B),
        subscription=fed.subscription(fed.topology.agency_queue(B)),
        topology=fed.topology,
        directory_file=DirectoryFile.at(folder / "directory.json", folder / "root.pub.json"),
        directory_poll_s=0.02,
        watchdog_interval_s=0.05,
    )


def refusals(fed: MemoryFederation) -> list[tuple[str | None, Any]]:
    """(message id, the gateway's reason) of each letter RabbitMQ dead-lettered as rejected;
    the reason is in the gateway's alert for that message id."""
    reasons = {alert.get("message_id"): alert.get("detail") for alert in alerts(fed)}
    return [
        (m.message_id, reasons.get(m.message_id))
        for m in fed.broker.messages(DEAD_LETTER_QUEUE)
        if m.headers["x-death"][0]["reason"] == "rejected"
    ]


def alerts(fed: MemoryFederation) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]


async def send_from_a(fed: MemoryFederation) -> str:
    message_id = new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    return message_id


async def test_a_revoked_sender_is_refused_once_the_file_changes_without_a_restart(
    tmp_path: Path,
) -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    gateway = gateway_b(fed, tmp_path, store)
    await gateway.start()
    try:
        before = await send_from_a(fed)

        async def stored() -> bool:
            return await store.inbox_message(before) is not None

        await eventually(stored, "A's referral before the revocation", timeout_s=WAIT_S)
        revoked = revoke_key(
            fed.signed_directory, fed.keys[A].signing.kid, fed.root, int(time.time())
        )
        write_public(tmp_path / "directory.json", revoked)

        async def renewed() -> bool:
            return gateway.directory.current.serial == 2

        await eventually(renewed, "the revocation in force", timeout_s=WAIT_S)
        assert await store.directory_serial() == 2
        after = await send_from_a(fed)

        async def refused() -> bool:
            return (after, "key_revoked") in refusals(fed)

        await eventually(refused, "A's referral after the revocation refused", timeout_s=WAIT_S)
        assert await store.inbox_message(after) is None

        # The old file again (a rollback to before the revocation): refused, alerted.
        write_public(tmp_path / "directory.json", fed.signed_directory)

        async def alerted() -> bool:
            return any(a["reason"] == "directory_refused" for a in alerts(fed))

        await eventually(alerted, "the refusal of the older directory", timeout_s=WAIT_S)
        [alert] = [a for a in alerts(fed) if a["reason"] == "directory_refused"]
        assert (alert["agency"], alert["detail"]) == (B, "directory_rollback")
        assert gateway.directory.current.serial == 2
    finally:
        await gateway.stop()


async def test_a_directory_older_than_one_accepted_stops_the_gateway_at_start(
    tmp_path: Path,
) -> None:
    fed, store = memory_federation(), MemoryGatewayStore()
    await store.accept_directory_serial(2, 1.0)  # accepted before this restart
    gateway = gateway_b(fed, tmp_path, store)
    with pytest.raises(DirectoryRollback):
        await gateway.start()
    await gateway.stop()
    assert await store.directory_serial() == 2
