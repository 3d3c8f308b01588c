"""What the adapter has processed, kept across restarts: a small SQLite file.

Per file, its SHA-256 once it is finished (a file of the same content, under any name, is
then a duplicate); per row, the ids allocated before its first submit (message, thread,
consent), so a file interrupted half-way is sent again under the same ids and the gateway's
outbox, idempotent on the message id, keeps one of each. Per file also the day it was first
processed: its consents are valid from that day, so a file processed again after a crash,
even days later, records the very same consents, which the gateway's register takes as a
repeat (a consent id recorded again with other dates would be a conflict). No name, value
or file name is kept: hashes, row numbers, ids, days and times only.

The file is created 0600 in a folder created 0700 and refused, at start, when group or
others may access either (broker.store.engine, as for the gateway's own store).
"""

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Column, Date, Float, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from broker.store.engine import make_engine

metadata = MetaData()

files = Table(
    "education_files",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("outcome", String(16), nullable=False),
    Column("finished_at", Float, nullable=False),
)

rows = Table(
    "education_rows",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("row_ref", String(32), primary_key=True),
    Column("message_id", String(36), nullable=False),
    Column("thread_id", String(36), nullable=False),
    Column("consent_id", String(36), nullable=False),
)

# A table of its own, not a column of `education_files` or `education_rows`: `create_all`
# adds a missing table to a ledger written by an older version, never a missing column.
starts = Table(
    "education_starts",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("first_day", Date, nullable=False),
)


@dataclass(frozen=True)
class RowIds:
    message_id: str
    thread_id: str
    consent_id: str


@dataclass(frozen=True)
class FileIds:
    """A file's first day of processing (its consents' `valid_from`) and its rows' ids."""

    day: date
    rows: dict[str, RowIds]


class Ledger:
    """Processed files and the ids of their rows; `open` creates and checks the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._engine: AsyncEngine | None = None

    async def open(self) -> None:
        """Create the file (0600, folder 0700) and its tables; raises
        DatabaseFilePermissionError when group or others may access them."""
        self._engine = make_engine(f"sqlite+aiosqlite:///{self.path}")
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> AsyncEngine:
        if self._engine is None:
            raise RuntimeError("the ledger is not open")
        return self._engine

    async def finished(self, sha256: str) -> bool:
        async with self.engine.connect() as connection:
            found = await connection.execute(select(files.c.sha256).where(files.c.sha256 == sha256))
            return found.first() is not None

    async def ids_for(self, sha256: str, refs: Sequence[str], *, today: date) -> FileIds:
        """The file's first day (`today` unless processed before) and the ids of each of its
        rows, those not yet allocated allocated now (committed before this returns, so
        before anything is sent or recorded under them)."""
        async with self.engine.begin() as connection:
            started = await connection.execute(
                select(starts.c.first_day).where(starts.c.sha256 == sha256)
            )
            day = started.scalar_one_or_none()
            if day is None:
                day = today
                await connection.execute(insert(starts).values(sha256=sha256, first_day=day))
            held = await connection.execute(select(rows).where(rows.c.sha256 == sha256))
            known = {
                row.row_ref: RowIds(row.message_id, row.thread_id, row.consent_id) for row in held
            }
            new = {
                ref: RowIds(*(str(uuid.uuid4()) for _ in range(3)))
                for ref in refs
                if ref not in known
            }
            if new:
                await connection.execute(
                    insert(rows),
                    [{"sha256": sha256, "row_ref": ref, **asdict(ids)} for ref, ids in new.items()],
                )
        return FileIds(day, known | new)

    async def finish(self, sha256: str, outcome: str, at: float) -> None:
        """Mark a file finished: any file of this content is a duplicate from now on."""
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(files).values(sha256=sha256, outcome=outcome, finished_at=at)
            )
