"""The watched folder: which files are ready, reading one, moving it out with its receipt.

A file is read only when whole. Two rules, both applied:
- a name ending `.part` (or starting with `.`) is never read: a school writes
  `concerns.csv.part` and renames it to `concerns.csv` when done (a rename is atomic);
- any other file is read only when its size and modification time are the same on two
  looks one poll apart, for exporters that cannot rename (a copy over a network share).
Only regular files named `*.csv` or `*.json` directly in the folder are read; symbolic links
and sub-folders (`done/`, `failed/`) are left alone.

Finished files move to `done/` (or `failed/` when unreadable as a whole) under a name that
cannot collide with an earlier file of the same name: `<UTC time>-<sha256 prefix>-<name>`,
their receipts beside them as `<that name>.receipt.csv` and `.receipt.json`. The folders
are created 0750 and receipts 0640: the group is the school's export account, which reads
its receipts; others get nothing.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from adapters.education.parsing import SUFFIXES, FileRefused
from broker.errors import CaselinkError


class FolderOpenToOthers(CaselinkError):
    """The watched folder, or one beside it, lets others than owner and group in."""

    reason = "folder_open_to_others"


PART_SUFFIX = ".part"
DONE = "done"
FAILED = "failed"


@dataclass(frozen=True)
class Look:
    size: int
    mtime_ns: int


class WatchedFolder:
    """The folder, with what the last poll saw of each file (kept in memory only)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: dict[str, Look] = {}

    def prepare(self) -> None:
        """Create the folder, `done/` and `failed/` if missing; raise FolderOpenToOthers
        when others (beyond owner and group) may enter one: they hold reports in plain text."""
        for folder in (self.path, self.path / DONE, self.path / FAILED):
            folder.mkdir(mode=0o750, parents=True, exist_ok=True)
            if stat.S_IMODE(folder.stat().st_mode) & stat.S_IRWXO:
                raise FolderOpenToOthers(
                    f"{folder} is open to others: allow the owner and the school's group only"
                )

    def ready(self) -> list[Path]:
        """Files unchanged since the previous look, oldest first by modification time."""
        seen: dict[str, Look] = {}
        for entry in os.scandir(self.path):
            if not _candidate(entry.name):
                continue
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode):
                seen[entry.name] = Look(info.st_size, info.st_mtime_ns)
        stable = [name for name, look in seen.items() if self._last.get(name) == look]
        self._last = seen
        stable.sort(key=lambda name: (seen[name].mtime_ns, name))
        return [self.path / name for name in stable]

    def forget(self, path: Path) -> None:
        self._last.pop(path.name, None)


def _candidate(name: str) -> bool:
    lowered = name.lower()
    return (
        not name.startswith(".")
        and not lowered.endswith(PART_SUFFIX)
        and lowered.endswith(SUFFIXES)
    )


def read_capped(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; FileRefused `too_large` past `max_bytes`. Never follows a link."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        if os.fstat(handle.fileno()).st_size > max_bytes:
            raise FileRefused("too_large")
        content = handle.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise FileRefused("too_large")
    return content


def move_out(path: Path, to: str, stamp: str, sha256: str, receipts: dict[str, bytes]) -> Path:
    """Write the receipts into `to` (done/ or failed/), then move the file beside them.

    Receipts first: a crash between the two leaves the file to be processed again (its
    rows under the same ids), never a file moved without its receipt.
    """
    target = path.parent / to / f"{stamp}-{sha256[:12]}-{path.name}"
    for suffix, content in receipts.items():
        _write(target.with_name(target.name + suffix), content)
    os.replace(path, target)
    return target


def _write(path: Path, content: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
