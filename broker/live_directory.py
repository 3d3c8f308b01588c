"""The agency directory in force: never older than one accepted before, renewed from its file.

A directory is root-signed, so nobody can forge one; but an old one verifies as well as the
newest, and serving a service a copy from before a revocation would bring a revoked key
back. So each service keeps the highest serial it has accepted in its store (see
`broker.store.directory_serials` for why there) and refuses an older directory: at start,
where the service then does not start, and on reload.

While the service runs, the directory file is polled every few seconds (its size, mtime
and inode: `caselink directory` replaces it with a rename, which changes the inode). A
changed file is read and verified; a newer directory has its serial recorded first, then
replaces the one in force in one assignment (`swap`), so a revocation or a new agency takes
effect without a restart. A bad or older file is refused with one log line per version of
the file, `on_refused` tells the service (which raises an alert), and the directory in
force stays. Polling, not inotify: no new dependency, and it works on every file system a
config may be mounted from (inotify misses changes made through NFS and some container
bind mounts).
"""

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from broker.envelope import DirectoryError, RootPublicKey, TrustedDirectory, verify_directory
from broker.envelope.directory import MAX_DIRECTORY_BYTES
from broker.envelope.errors import DirectoryRollback
from broker.logs import get_logger

log = get_logger(__name__)

POLL_S = 5.0


class DirectorySerialReused(DirectoryError):
    """A directory with the serial in force but other content: a change needs a new serial."""

    reason = "directory_serial_reused"


class DirectoryUnreadable(DirectoryError):
    """The directory file is missing or cannot be read."""

    reason = "directory_unreadable"


class DirectorySerials(Protocol):
    """Where a service keeps the highest serial it accepted (its store)."""

    async def directory_serial(self) -> int:
        """The highest serial accepted; 0 before any."""

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher; return the one kept after."""


@dataclass(frozen=True)
class LoadedDirectory:
    """A verified directory with the signed bytes and root public key it was verified from
    (the tracker's header workers verify it again from these)."""

    trusted: TrustedDirectory
    signed: bytes
    root_public: bytes


@dataclass(frozen=True)
class DirectoryFile:
    """The signed directory file a service's settings name, and the pinned root public key
    (read once, at start: a new root is a restart, never a file swapped under a service)."""

    directory: Path
    root_public: bytes

    @classmethod
    def at(cls, directory: Path, root_public: Path) -> "DirectoryFile":
        """The files of a service's settings; raises KeyFileError for a bad root key file."""
        raw = root_public.read_bytes()
        RootPublicKey.from_bytes(raw)
        return cls(directory, raw)

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes when the file is replaced or rewritten; None when it is missing."""
        try:
            found = os.stat(self.directory)
        except OSError:
            return None
        return (found.st_size, found.st_mtime_ns, found.st_ino)

    def load(self, min_serial: int = 1) -> LoadedDirectory:
        """Read and verify the directory; raises DirectoryError (DirectoryRollback when its
        serial is below `min_serial`, DirectoryUnreadable when the file cannot be read)."""
        try:
            with self.directory.open("rb") as handle:
                signed = handle.read(MAX_DIRECTORY_BYTES + 1)  # verify refuses a larger one
        except OSError as error:
            raise DirectoryUnreadable(f"cannot read {self.directory.name}") from error
        root = RootPublicKey.from_bytes(self.root_public)
        trusted = verify_directory(signed, root, min_serial=min_serial)
        return LoadedDirectory(trusted, signed, self.root_public)


class LiveDirectory:
    """The directory in force for one service; `start` checks it, `run` follows its file.

    `swap` is called with each newer directory, after its serial is recorded; `on_refused`
    (optional) with each refusal of a changed file. Without a `source` file, only the check
    at start is made.
    """

    def __init__(
        self,
        current: TrustedDirectory,
        serials: DirectorySerials,
        swap: Callable[[LoadedDirectory], None],
        *,
        source: DirectoryFile | None = None,
        on_refused: Callable[[DirectoryError], Awaitable[None]] | None = None,
        interval_s: float = POLL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._current = current
        self._serials = serials
        self._swap = swap
        self._source = source
        self._on_refused = on_refused
        self._interval_s = interval_s
        self._clock = clock
        # None: the file is read at the first poll, in case it changed since it was loaded.
        self._stamp: tuple[int, int, int] | None = None
        self._seen = False

    @property
    def current(self) -> TrustedDirectory:
        """The directory in force."""
        return self._current

    async def start(self) -> None:
        """Refuse to start with a directory older than one accepted before; record it.

        Raises DirectoryRollback (after one log line).
        """
        kept = await self._serials.directory_serial()
        if self._current.serial < kept:
            error = DirectoryRollback(f"serial {self._current.serial} is below {kept}")
            log.error("directory refused at start", reason=error.reason, serial=kept)
            raise error
        await self._serials.accept_directory_serial(self._current.serial, self._clock())

    async def run(self) -> None:
        """Poll the file forever (nothing without one); cancel the task to stop."""
        if self._source is None:
            return
        while True:
            try:
                await self.poll()
            except Exception as error:  # the store went away: try again at the next poll
                log.warning("directory not reloaded; will retry", reason=type(error).__name__)
            await asyncio.sleep(self._interval_s)

    async def poll(self) -> bool:
        """Look at the file once; True when a newer directory is now in force."""
        source = self._source
        if source is None:
            return False
        stamp = source.stamp()
        if self._seen and stamp == self._stamp:
            return False
        current = self._current
        try:
            kept = await self._serials.directory_serial()
            fresh = await asyncio.to_thread(source.load, max(current.serial, kept))
            if fresh.trusted.serial == current.serial:
                if fresh.trusted.directory != current.directory:
                    raise DirectorySerialReused(f"serial {current.serial} is already in force")
                self._stamp, self._seen = stamp, True
                return False
        except DirectoryError as error:
            self._stamp, self._seen = stamp, True  # one refusal per version of the file
            log.error(
                "directory file refused; the one in force stays",
                reason=error.reason,
                path=str(source.directory),
                serial=current.serial,
            )
            if self._on_refused is not None:
                await self._on_refused(error)
            return False
        # Recorded before it is used: a restart never falls back behind a directory in use.
        await self._serials.accept_directory_serial(fresh.trusted.serial, self._clock())
        self._current = fresh.trusted
        self._swap(fresh)
        self._stamp, self._seen = stamp, True
        log.info("directory renewed", serial=fresh.trusted.serial, path=str(source.directory))
        return True
