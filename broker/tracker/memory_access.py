"""AccessStore held in memory (sessions, sign-ins, views): MemoryTrackerStore's share of it.

Like the rest of the memory store, each method runs without awaiting, so every call is
atomic under asyncio. Nothing survives a restart: a restart signs everybody out.
"""

from dataclasses import replace
from typing import TypeVar

from broker.people.memory_sessions import MemorySessions
from broker.tracker.access import SignInRecord, ViewRecord

LogRecord = TypeVar("LogRecord", SignInRecord, ViewRecord)


class MemoryAccess(MemorySessions):
    """Sessions by hash; the sign-in log and the view records in arrival order."""

    def __init__(self) -> None:
        super().__init__()
        self._sign_ins: list[SignInRecord] = []
        self._view_records: list[ViewRecord] = []

    async def record_sign_in(self, record: SignInRecord) -> None:
        """Append to the sign-in log."""
        self._sign_ins.append(record)

    async def sign_ins(self, *, limit: int, offset: int = 0) -> list[SignInRecord]:
        """One page of the sign-in log, newest first (ties: the later recorded first)."""
        return _newest_first(self._sign_ins)[offset : offset + limit]

    async def record_view(self, record: ViewRecord) -> None:
        """Append to the view records."""
        self._view_records.append(replace(record, at=float(record.at)))

    async def views(self, thread_id: str) -> list[tuple[str, float]]:
        """Who was shown this thread: (user, at), oldest first."""
        shown = [(v.user, v.at) for v in self._view_records if v.thread_id == thread_id]
        return sorted(shown, key=lambda view: view[1])

    async def view_log(self, *, limit: int, offset: int = 0) -> list[ViewRecord]:
        """One page of every view record, newest first (ties: the later recorded first)."""
        return _newest_first(self._view_records)[offset : offset + limit]


def _newest_first(records: list[LogRecord]) -> list[LogRecord]:
    # sorted() is stable: reversing first puts the later of two equal times first.
    return sorted(reversed(records), key=lambda record: record.at, reverse=True)
