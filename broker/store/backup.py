"""A consistent copy of a running store's SQLite database, for backups and restore drills.

SQLite's online backup API copies the database page by page inside read transactions, so
the copy is one committed state even while the gateway or tracker keeps writing (in WAL
mode a reader never blocks the writer). Copying the file with `cp` instead could take a
database file without the commits still in its -wal file, or half of a checkpoint.

PostgreSQL is backed up with its own tools (pg_dump, pg_restore); this module says so.
"""

import contextlib
import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from broker.errors import CaselinkError
from broker.store.engine import private_sqlite_file, refuse_memory_database
from broker.store.errors import UnsupportedDatabase

PAGES_PER_STEP = 1024
"""Pages copied per step of the backup: between steps the writer takes its turn."""


class BackupError(CaselinkError):
    """A backup cannot be made: no database there, an output that exists, another engine."""

    reason = "backup_refused"


def backup_store(store_url: str, out: Path) -> int:
    """Copy the SQLite database of `store_url` to `out` (created 0600); its size in bytes.

    Raises BackupError for a PostgreSQL URL (pointing to pg_dump), a database file that does
    not exist (a backup never creates an empty store), or an `out` that already exists (a
    backup is never overwritten); UnsupportedDatabase for any other URL or an in-memory
    database; DatabaseFilePermissionError when others may read the source.
    """
    try:
        url = make_url(store_url)
    except ArgumentError as exc:
        raise UnsupportedDatabase("read the store URL", exc) from exc
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            "the store is PostgreSQL: back it up with pg_dump --format=custom"
            " and restore it with pg_restore (docs/operations.md)"
        )
    if backend != "sqlite":
        raise UnsupportedDatabase(f"back up a {backend} database")
    refuse_memory_database(url)
    source = Path(str(url.database))
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    private_sqlite_file(url)  # the same refusal as at start: others may read case data
    _create_private(out)
    try:
        _copy(source, out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return out.stat().st_size


def _create_private(out: Path) -> None:
    try:
        os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{out} exists; a backup is never overwritten") from None


def _copy(source: Path, out: Path) -> None:
    # Read-only on the source: a backup never writes to the live store. The target is a
    # plain rollback-journal database, one self-contained file to copy or restore.
    reader = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(out)
        try:
            reader.backup(writer, pages=PAGES_PER_STEP)
            writer.execute("PRAGMA journal_mode=DELETE")
            check = writer.execute("PRAGMA integrity_check").fetchone()
            if check is None or check[0] != "ok":
                raise BackupError(f"the copy at {out} fails SQLite's integrity check")
        finally:
            writer.close()
    finally:
        reader.close()
    # The journal SQLite may have left beside the copy holds its pages too.
    with contextlib.suppress(FileNotFoundError):
        Path(f"{out}-journal").unlink()
