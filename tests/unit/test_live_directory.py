"""The directory in force (broker/live_directory.py): no rollback, renewed from its file."""

import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from broker.envelope import (
    RootKey,
    TrustedDirectory,
    build_directory,
    revoke_key,
    verify_directory,
)
from broker.envelope.errors import DirectoryError, DirectoryRollback
from broker.gateway.memory_store import MemoryGatewayStore
from broker.keystore import write_public
from broker.live_directory import DirectoryFile, LiveDirectory, LoadedDirectory
from tests.integration.rabbit_federation import make_keys

AGENCIES = ("oscc-north", "social-east")


class Directories:
    """A root, its agencies' keys, and directory files of several serials."""

    def __init__(self, folder: Path) -> None:
        self.root, self.keys, self.first = make_keys(AGENCIES)
        self.path = folder / "directory.json"
        root_public = folder / "root.pub.json"
        write_public(root_public, self.root.public().to_bytes())
        write_public(self.path, self.first)
        self.file = DirectoryFile.at(self.path, root_public)

    def revoked(self, signed: bytes, agency: str) -> bytes:
        """`signed` re-signed with `agency`'s signing key revoked (serial + 1)."""
        return revoke_key(signed, self.keys[agency].signing.kid, self.root, int(time.time()))

    def signed(self, serial: int, root: RootKey | None = None) -> bytes:
        """The first directory's agencies at `serial` (by another root when given)."""
        entries = verify_directory(self.first, self.root.public()).directory.agencies
        return build_directory(entries, root or self.root, int(time.time()), serial=serial)


class Recorder:
    """What the live directory told its service."""

    def __init__(self) -> None:
        self.swapped: list[LoadedDirectory] = []
        self.refused: list[str] = []

    def swap(self, loaded: LoadedDirectory) -> None:
        self.swapped.append(loaded)

    async def on_refused(self, error: DirectoryError) -> None:
        self.refused.append(error.reason)


def live(
    dirs: Directories, store: MemoryGatewayStore, seen: Recorder, current: TrustedDirectory
) -> LiveDirectory:
    return LiveDirectory(current, store, seen.swap, source=dirs.file, on_refused=seen.on_refused)


async def test_start_refuses_a_directory_older_than_one_accepted_and_records_its_own(
    tmp_path: Path,
) -> None:
    dirs, store, seen = Directories(tmp_path), MemoryGatewayStore(), Recorder()
    current = dirs.file.load().trusted  # serial 1
    await store.accept_directory_serial(2, 1.0)  # accepted before this restart
    with capture_logs() as logs, pytest.raises(DirectoryRollback):
        await live(dirs, store, seen, current).start()
    assert [(e["event"], e["reason"]) for e in logs] == [
        ("directory refused at start", "directory_rollback")
    ]
    fresh = MemoryGatewayStore()
    await live(dirs, fresh, seen, current).start()
    assert await fresh.directory_serial() == 1


async def test_a_newer_file_is_recorded_then_swapped_in(tmp_path: Path) -> None:
    dirs, store, seen = Directories(tmp_path), MemoryGatewayStore(), Recorder()
    directory = live(dirs, store, seen, dirs.file.load().trusted)
    await directory.start()
    assert await directory.poll() is False  # the file as loaded: nothing to do
    write_public(dirs.path, dirs.revoked(dirs.first, "oscc-north"))
    assert await directory.poll() is True
    assert directory.current.serial == 2 == await store.directory_serial()
    [loaded] = seen.swapped
    assert loaded.trusted is directory.current
    assert loaded.signed == dirs.path.read_bytes()
    assert await directory.poll() is False
    assert seen.refused == []


@pytest.mark.parametrize(
    ("replacement", "reason"),
    [
        ("older", "directory_rollback"),
        ("same_serial", "directory_serial_reused"),
        ("other_root", "directory_wrong_root"),
        ("garbage", "directory_malformed"),
        ("missing", "directory_unreadable"),
    ],
)
async def test_a_bad_or_older_file_is_refused_once_and_the_directory_in_force_stays(
    tmp_path: Path, replacement: str, reason: str
) -> None:
    dirs, store, seen = Directories(tmp_path), MemoryGatewayStore(), Recorder()
    second = dirs.revoked(dirs.first, "oscc-north")
    write_public(dirs.path, second)
    directory = live(dirs, store, seen, dirs.file.load().trusted)  # serial 2 in force
    await directory.start()
    if replacement == "older":
        write_public(dirs.path, dirs.first)
    elif replacement == "same_serial":
        write_public(dirs.path, dirs.signed(2))  # same serial, the revocation undone
    elif replacement == "other_root":
        write_public(dirs.path, dirs.signed(3, RootKey.generate(now=int(time.time()))))
    elif replacement == "garbage":
        write_public(dirs.path, b'{"directory": 3}')
    else:
        dirs.path.unlink()
    with capture_logs() as logs:
        assert await directory.poll() is False
        assert await directory.poll() is False  # the same file again: not refused again
    assert [(e["event"], e["reason"], e["serial"]) for e in logs] == [
        ("directory file refused; the one in force stays", reason, 2)
    ]
    assert seen.refused == [reason]
    assert seen.swapped == []
    assert directory.current.serial == 2 == await store.directory_serial()


async def test_a_file_older_than_another_service_on_the_same_store_accepted_is_refused(
    tmp_path: Path,
) -> None:
    # Two trackers on one database: the other one has accepted serial 3 already.
    dirs, store, seen = Directories(tmp_path), MemoryGatewayStore(), Recorder()
    directory = live(dirs, store, seen, dirs.file.load().trusted)
    await directory.start()
    await store.accept_directory_serial(3, 1.0)
    write_public(dirs.path, dirs.revoked(dirs.first, "oscc-north"))  # serial 2
    assert await directory.poll() is False
    assert seen.refused == ["directory_rollback"]
    write_public(dirs.path, dirs.signed(3))
    assert await directory.poll() is True
