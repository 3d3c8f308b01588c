"""SQLite files hold case data: created private (file 0600, folder 0700), refused when shared.

The gateway's and the tracker's stores alike (both through broker.store.engine).
"""

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from broker.store.errors import DatabaseFilePermissionError
from broker.store.gateway_store import SqlGatewayStore
from broker.store.tracker_store import SqlTrackerStore
from tests.gateway_records import delivery

Opener = Callable[[str], SqlGatewayStore | SqlTrackerStore]
STORES: dict[str, Opener] = {"gateway": SqlGatewayStore, "tracker": SqlTrackerStore}


def url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    # The common default, under which files would otherwise be created 0644 and folders 0755.
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.parametrize("component", sorted(STORES))
async def test_the_file_and_its_folder_are_created_private(tmp_path: Path, component: str) -> None:
    path = tmp_path / "new" / "folder" / "store.db"
    store = STORES[component](url(path))
    try:
        await store.create()
    finally:
        await store.close()
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600


async def test_the_wal_and_shared_memory_files_are_private_too(tmp_path: Path) -> None:
    path = tmp_path / "data" / "gateway.db"
    store = SqlGatewayStore(url(path))
    try:
        await store.create()
        await store.store_received([delivery()])
        companions = [p for p in path.parent.iterdir() if p != path]
        assert companions  # WAL mode: -wal and -shm exist while the store is open
        assert {mode(p) for p in companions} == {0o600}
    finally:
        await store.close()


@pytest.mark.parametrize("component", sorted(STORES))
@pytest.mark.parametrize("shared", [0o644, 0o640, 0o604, 0o660])
def test_a_file_others_may_read_is_refused(tmp_path: Path, component: str, shared: int) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "store.db"
    path.touch()
    path.chmod(shared)
    with pytest.raises(DatabaseFilePermissionError) as refused:
        STORES[component](url(path))
    message = str(refused.value)
    assert message == f"{path} has mode {shared:o}; it must be 0600 (others may read case data)"
    assert "\n" not in message


@pytest.mark.parametrize("component", sorted(STORES))
@pytest.mark.parametrize("shared", [0o755, 0o750, 0o701, 0o1777])
def test_a_folder_others_may_enter_is_refused(tmp_path: Path, component: str, shared: int) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(shared)
    with pytest.raises(DatabaseFilePermissionError, match=r"it must be 0700"):
        STORES[component](url(folder / "store.db"))
    assert not (folder / "store.db").exists()  # nothing created in a shared folder


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_a_shared_wal_or_journal_is_refused(tmp_path: Path, suffix: str) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "gateway.db"
    path.touch(mode=0o600)
    companion = folder / f"gateway.db{suffix}"
    companion.touch()
    companion.chmod(0o644)
    with pytest.raises(DatabaseFilePermissionError, match=suffix):
        SqlGatewayStore(url(path))


def test_a_private_existing_database_is_taken_as_it_is(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    path = folder / "gateway.db"
    path.touch(mode=0o600)
    SqlGatewayStore(url(path))  # no refusal, nothing changed
    assert (mode(folder), mode(path)) == (0o700, 0o600)
