"""A running tracker follows its directory file: a revoked sender's headers are refused
once the file changes, without a restart; an older directory is refused at start and on
reload (broker/live_directory.py). In-memory broker and store; real header workers."""

import json
import time
from pathlib import Path
from typing import Any

import pytest

from broker.envelope import revoke_key
from broker.envelope.errors import DirectoryRollback
from broker.keystore import write_public
from broker.live_directory import DirectoryFile
from broker.topology.names import ALERTS_QUEUE, TAP_LOST_QUEUE, TAP_OVERFLOW_QUEUE, TAP_QUEUE
from broker.tracker.ledger import TrackerLedger
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.service import TrackerService
from broker.tracker.verifier import HeaderVerifier, SignedDirectory
from schemas.ids import new_message_id
from tests.memory_federation import MemoryFederation, memory_federation
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
COORDINATOR = "police-west"
WAIT_S = 20.0


def tracker(fed: MemoryFederation, folder: Path, store: MemoryTrackerStore) -> TrackerService:
    """A tracker following folder/directory.json (written from the federation's)."""
    root_public = fed.root.public().to_bytes()
    write_public(folder / "directory.json", fed.signed_directory)
    write_public(folder / "root.pub.json", root_public)
    return TrackerService(
        ledger=TrackerLedger(store, DEFAULT_POLICY, [COORDINATOR]),
        verifier=HeaderVerifier(SignedDirectory(fed.signed_directory, root_public)),
        publisher=fed.publisher(fed.topology.tracker_user()),
        subscription=fed.subscription(TAP_QUEUE),
        overflow=fed.subscription(TAP_OVERFLOW_QUEUE),
        lost=fed.subscription(TAP_LOST_QUEUE, prefetch=1),
        topology=fed.topology,
        sweep_interval_s=3600,
        watchdog_interval_s=0.05,
        directory_file=DirectoryFile.at(folder / "directory.json", folder / "root.pub.json"),
        directory_poll_s=0.02,
    )


def alerts(fed: MemoryFederation) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in fed.broker.messages(ALERTS_QUEUE)]


async def send_from_a(fed: MemoryFederation) -> str:
    message_id = new_message_id()
    await fed.send(A, B, fed.seal(A, B, message_id=message_id), message_id)
    return message_id


async def test_a_revoked_sender_is_refused_once_the_file_changes_without_a_restart(
    tmp_path: Path,
) -> None:
    fed, store = memory_federation(), MemoryTrackerStore()
    service = tracker(fed, tmp_path, store)
    await service.start()
    try:
        before = await send_from_a(fed)

        async def stored() -> bool:
            return (await store.metrics(0))["open_threads"] == 1

        await eventually(stored, "A's referral before the revocation", timeout_s=WAIT_S)
        kid = fed.keys[A].signing.kid
        revoked = revoke_key(fed.signed_directory, kid, fed.root, int(time.time()))
        write_public(tmp_path / "directory.json", revoked)

        async def renewed() -> bool:
            return service.directory.current.serial == 2

        await eventually(renewed, "the revocation in force", timeout_s=WAIT_S)
        after = await send_from_a(fed)

        async def refused() -> bool:
            return any(a.get("detail") == "key_revoked" for a in alerts(fed))

        await eventually(refused, "A's referral after the revocation refused", timeout_s=WAIT_S)
        [alert] = [a for a in alerts(fed) if a.get("detail") == "key_revoked"]
        assert (alert["agency"], alert["message_id"]) == (COORDINATOR, after)
        assert (await store.metrics(0))["open_threads"] == 1  # only the one before
        assert before != after

        write_public(tmp_path / "directory.json", fed.signed_directory)  # the older one

        async def alerted() -> bool:
            return any(a["reason"] == "directory_refused" for a in alerts(fed))

        await eventually(alerted, "the refusal of the older directory", timeout_s=WAIT_S)
        [alert] = [a for a in alerts(fed) if a["reason"] == "directory_refused"]
        assert (alert["agency"], alert["detail"]) == (COORDINATOR, "directory_rollback")
        assert service.directory.current.serial == 2
        assert (await store.metrics(0))["directory_serial"] == 2
    finally:
        await service.stop()


async def test_a_directory_older_than_one_accepted_stops_the_tracker_at_start(
    tmp_path: Path,
) -> None:
    fed, store = memory_federation(), MemoryTrackerStore()
    await store.accept_directory_serial(2, 1.0)
    service = tracker(fed, tmp_path, store)
    with pytest.raises(DirectoryRollback):
        await service.start()
    await service.stop()
