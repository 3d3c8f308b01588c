"""TrackerStore held in memory: same contract as the SQL store, nothing survives a restart.

Each method runs without awaiting, so under asyncio every call is atomic on its own. A
`writing` transaction holds a lock for its block and undoes its writes when the block raises.
"""

import asyncio
import statistics
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from broker.tracker.events import TrackedEvent
from broker.tracker.listings import CHASED_KINDS, NO_URGENCY, OPEN_PHASES, ListOrder, ThreadListing
from broker.tracker.memory_access import MemoryAccess
from broker.tracker.parties import ThreadClaim
from broker.tracker.records import (
    AgencyFigures,
    AgencyWeek,
    DueThread,
    FoldedThread,
    NextCheck,
    OwedAlert,
    RecordedAlert,
    RefusalEntry,
    ThreadFilter,
    ThreadRow,
    TimelineEntry,
)
from broker.tracker.state import ThreadState
from broker.tracker.trends import MISSED_LEVEL, MISSED_REASONS, week_start
from schemas.alert import Alert

_FAR = 2**62  # sorts a missing time after every real one
_ABSENT = object()  # a journal's "there was no entry" (None is a value)


@dataclass(frozen=True)
class _Kept:
    """A saved thread and how many times it was saved (the SQL store's revision)."""

    folded: FoldedThread
    revision: int

    @property
    def row(self) -> ThreadRow:
        return self.folded.row


class MemoryTrackerStore(MemoryAccess):
    """Events, threads, alert outbox, sessions, sign-ins and views in dicts and lists; for
    tests and throwaway runs."""

    def __init__(self) -> None:
        self._events: dict[str, tuple[TrackedEvent, float]] = {}
        self._thread_events: dict[str, tuple[str, ...]] = {}  # thread id -> message ids
        self._refused: dict[str, RefusalEntry] = {}
        self._threads: dict[str, _Kept] = {}
        self._alerts: dict[str, RecordedAlert] = {}
        self._thread_alerts: dict[str, frozenset[str]] = {}  # thread id -> outbox keys
        self._leases: dict[str, tuple[str, float]] = {}  # alert key -> (holder, until)
        self._writer = asyncio.Lock()
        self._directory_serial = 0
        MemoryAccess.__init__(self)

    async def create(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    @asynccontextmanager
    async def writing(self, operation: str) -> AsyncIterator["_MemoryWrites"]:
        """One transaction: its writes are undone when the block raises."""
        async with self._writer:
            writes = _MemoryWrites(self)
            try:
                yield writes
            except BaseException:
                writes.undo()
                raise

    async def claim_unpublished_alerts(
        self, limit: int, holder: str, now: float, lease_s: float
    ) -> list[RecordedAlert]:
        """Lease the oldest claimable unpublished alerts to `holder`; return them, oldest
        first (no await: atomic under asyncio)."""

        def claimable(alert: RecordedAlert) -> bool:
            lease = self._leases.get(alert.key)
            return alert.published_at is None and (
                lease is None or lease[1] <= now or lease[0] == holder
            )

        pending = sorted(
            filter(claimable, self._alerts.values()), key=lambda a: (a.raised_at, a.key)
        )[:limit]
        for alert in pending:
            self._leases[alert.key] = (holder, now + lease_s)
        return pending

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown keys ignored."""
        for key in keys:
            alert = self._alerts.get(key)
            if alert is not None and alert.published_at is None:
                self._alerts[key] = replace(alert, published_at=float(at))

    async def threads(
        self, listing: ThreadListing, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """One page of a dashboard list, in the list's order."""
        rows = self._select(flt, listing.includes)
        if listing.order in _NEWEST_FIRST:
            newest = sorted(rows, key=_NEWEST_FIRST[listing.order], reverse=True)
            return newest[offset : offset + limit]
        if listing.order is ListOrder.NEWEST:
            return sorted(rows, key=_by_opened, reverse=True)[offset : offset + limit]
        return sorted(rows, key=_OLDEST_FIRST[listing.order])[offset : offset + limit]

    async def thread(self, thread_id: str) -> ThreadRow | None:
        """One thread; None when no event of it is known."""
        kept = self._threads.get(thread_id)
        return None if kept is None else kept.row

    async def timeline(self, thread_id: str) -> list[TimelineEntry]:
        """A thread's events by issue time (then arrival, then message id)."""
        entries = [
            TimelineEntry(
                message_id=event.message_id,
                kind=event.kind.value,
                sender=event.sender,
                recipient=event.recipient,
                status=event.status,
                issued_at=event.issued_at,
                received_at=received_at,
            )
            for event, received_at in (
                self._events[message_id] for message_id in self._thread_events.get(thread_id, ())
            )
        ]
        return sorted(entries, key=lambda e: (e.issued_at, e.received_at, e.message_id))

    async def refusals(self, thread_id: str) -> list[RefusalEntry]:
        """The messages refused for a thread, in arrival order (ties: message id)."""
        found = [entry for entry in self._refused.values() if entry.thread_id == thread_id]
        return sorted(found, key=lambda entry: (entry.received_at, entry.message_id))

    async def agency_figures(self, flt: ThreadFilter, now: int) -> list[AgencyFigures]:
        """Per recipient agency of referrals and transfers: open, overdue, median times."""
        by_agency: dict[str, list[_Kept]] = defaultdict(list)
        for kept in self._select_kept(flt, _chased):
            for agency in kept.row.state.recipients:
                by_agency[agency].append(kept)
        return [self._figures(agency, by_agency[agency], now) for agency in sorted(by_agency)]

    async def agency_weeks(self, flt: ThreadFilter, since: int, until: int) -> list[AgencyWeek]:
        """Per recipient agency and week of issue: received, overdue, median times."""
        by_week: dict[tuple[str, int], list[_Kept]] = defaultdict(list)
        for kept in self._select_kept(flt, _chased):
            opened = kept.row.state.opened_at
            if opened is None or not since <= opened < until:
                continue
            for agency in kept.row.state.recipients:
                by_week[(agency, week_start(opened))].append(kept)
        return [
            self._week(agency, week, by_week[(agency, week)]) for agency, week in sorted(by_week)
        ]

    async def metrics(self, now: int) -> dict[str, object]:
        """open_threads, overdue {(recipient, urgency): n}, alerts_raised, alerts_unpublished,
        last_event_received_at (None before any event), directory_serial."""
        open_threads = [kept for kept in self._threads.values() if _is_open(kept.row.state)]
        overdue: dict[tuple[str, str], int] = defaultdict(int)
        for kept in open_threads:
            urgency = kept.row.state.urgency
            for agency, due in kept.folded.recipient_deadlines.items():
                if due <= now:
                    overdue[(agency, urgency.value if urgency else NO_URGENCY)] += 1
        received = (at for _, at in self._events.values())
        return {
            "open_threads": len(open_threads),
            "overdue": dict(overdue),
            "alerts_raised": len(self._alerts),
            "alerts_unpublished": sum(a.published_at is None for a in self._alerts.values()),
            "last_event_received_at": max(received, default=None),
            "directory_serial": self._directory_serial,
        }

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""
        return self._directory_serial

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher; return the one kept after."""
        self._directory_serial = max(self._directory_serial, serial)
        return self._directory_serial

    def _week(self, agency: str, week: int, threads: list[_Kept]) -> AgencyWeek:
        receipt, answer = _medians(threads)
        return AgencyWeek(
            agency=agency,
            week=week,
            received=len(threads),
            overdue=sum(self._missed(kept.row.state.thread_id, agency) for kept in threads),
            median_receipt_s=receipt,
            median_answer_s=answer,
        )

    def _missed(self, thread_id: str, agency: str) -> bool:
        # The alert bodies say what the SQL store keeps in columns: level, reason, addressee.
        for key in self._thread_alerts.get(thread_id, ()):
            alert = Alert.model_validate_json(self._alerts[key].alert_json)
            if (
                alert.level.value == MISSED_LEVEL
                and alert.reason.value in MISSED_REASONS
                and alert.agency == agency
            ):
                return True
        return False

    def _figures(self, agency: str, threads: list[_Kept], now: int) -> AgencyFigures:
        receipt, answer = _medians(threads)
        return AgencyFigures(
            agency=agency,
            open=sum(_is_open(kept.row.state) for kept in threads),
            overdue=sum(
                _at_or_before(kept.folded.recipient_deadlines.get(agency), now) for kept in threads
            ),
            median_receipt_s=receipt,
            median_answer_s=answer,
        )

    def _select(self, flt: ThreadFilter, wanted: Callable[[ThreadState], bool]) -> list[ThreadRow]:
        return [kept.row for kept in self._select_kept(flt, wanted)]

    def _select_kept(self, flt: ThreadFilter, wanted: Callable[[ThreadState], bool]) -> list[_Kept]:
        return [
            kept
            for kept in self._threads.values()
            if wanted(kept.row.state) and _matches(kept.row.state, flt)
        ]


class _MemoryWrites:
    """One transaction of MemoryTrackerStore: writes at once, journals how to undo them."""

    def __init__(self, store: MemoryTrackerStore) -> None:
        self._store = store
        self._journal: list[tuple[MutableMapping[str, Any], str, object]] = []

    async def claims_for_update(self, thread_ids: Sequence[str]) -> dict[str, ThreadClaim]:
        """The claim of each thread (the store's lock is held already)."""
        kept = self._store._threads
        return {
            thread_id: kept[thread_id].folded.claim if thread_id in kept else ThreadClaim()
            for thread_id in thread_ids
        }

    async def known_messages(self, message_ids: Sequence[str]) -> set[str]:
        """The ids stored as events or refusals."""
        store = self._store
        return {i for i in message_ids if i in store._events or i in store._refused}

    async def add_refusals(
        self, events: Sequence[TrackedEvent], reason: str, received_at: float
    ) -> None:
        """Keep the refused events not kept yet."""
        for event in events:
            if event.message_id not in self._store._refused:
                self._put(
                    self._store._refused, event.message_id, _refusal(event, reason, received_at)
                )

    async def add_events(self, events: Sequence[TrackedEvent], received_at: float) -> set[str]:
        """Store the events not stored yet; return their ids."""
        store, new = self._store, set()
        for event in events:
            if event.message_id in store._events:
                continue
            new.add(event.message_id)
            self._put(store._events, event.message_id, (event, received_at))
            known = store._thread_events.get(event.thread_id, ())
            self._put(store._thread_events, event.thread_id, (*known, event.message_id))
        return new

    async def events_of(self, thread_ids: Sequence[str]) -> dict[str, list[TrackedEvent]]:
        """Every stored event of these threads (the store's lock is held already)."""
        store = self._store
        return {
            thread_id: [store._events[i][0] for i in store._thread_events.get(thread_id, ())]
            for thread_id in thread_ids
        }

    async def recorded_keys(self, thread_ids: Sequence[str]) -> dict[str, set[str]]:
        """The outbox keys recorded per thread."""
        recorded = self._store._thread_alerts
        return {thread_id: set(recorded.get(thread_id, ())) for thread_id in thread_ids}

    async def save_threads(self, threads: Sequence[FoldedThread]) -> None:
        """Keep these threads' rows and claims; each save is a new revision."""
        for folded in threads:
            thread_id = folded.row.state.thread_id
            before = self._store._threads.get(thread_id)
            revision = 1 if before is None else before.revision + 1
            self._put(self._store._threads, thread_id, _Kept(folded, revision))

    async def due_threads(self, now: int, limit: int) -> list[DueThread]:
        """Threads whose next check is at or before `now`, earliest first."""
        kept_threads = self._store._threads.values()
        due = sorted(
            (kept for kept in kept_threads if _at_or_before(kept.row.next_check_at, now)),
            key=lambda kept: (kept.row.next_check_at or 0, kept.row.state.thread_id),
        )
        return [DueThread(kept.row, kept.revision) for kept in due[:limit]]

    async def add_alerts(self, alerts: Sequence[OwedAlert]) -> set[str]:
        """Record the alerts not recorded yet; return their keys."""
        store, new = self._store, set()
        for record, body in alerts:
            if record.key in store._alerts:
                continue
            new.add(record.key)
            self._put(store._alerts, record.key, record)
            thread_id = body.thread_id or ""
            keys = store._thread_alerts.get(thread_id, frozenset())
            self._put(store._thread_alerts, thread_id, keys | {record.key})
        return new

    async def move_next_checks(self, moves: Sequence[NextCheck]) -> None:
        """Move the next checks of threads still at the move's revision."""
        for move in moves:
            kept = self._store._threads.get(move.thread_id)
            if kept is None or kept.revision != move.revision:
                continue
            row = replace(kept.row, next_check_at=move.next_check_at)
            moved = replace(kept, folded=replace(kept.folded, row=row))
            self._put(self._store._threads, move.thread_id, moved)

    def undo(self) -> None:
        """Put back every entry this transaction wrote, newest first."""
        for table, key, before in reversed(self._journal):
            if before is _ABSENT:
                del table[key]
            else:
                table[key] = before
        self._journal.clear()

    def _put(self, table: MutableMapping[str, Any], key: str, value: object) -> None:
        self._journal.append((table, key, table.get(key, _ABSENT)))
        table[key] = value


def _refusal(event: TrackedEvent, reason: str, received_at: float) -> RefusalEntry:
    return RefusalEntry(
        message_id=event.message_id,
        thread_id=event.thread_id,
        kind=event.kind.value,
        sender=event.sender,
        recipient=event.recipient,
        status=event.status,
        issued_at=event.issued_at,
        received_at=received_at,
        reason=reason,
    )


def _matches(state: ThreadState, flt: ThreadFilter) -> bool:
    """True when `state` passes every filter that is set."""
    parties = {state.sender, *state.recipients}
    return (
        (flt.involving is None or flt.involving in parties)
        and (flt.agency is None or flt.agency in parties)
        and (flt.kind is None or (state.kind is not None and state.kind.value == flt.kind))
        and (flt.urgency is None or (state.urgency is not None and state.urgency == flt.urgency))
        and (flt.phase is None or state.phase.value == flt.phase)
    )


def _medians(threads: list[_Kept]) -> tuple[float | None, float | None]:
    """Median seconds from issue to receipt and to answer (None without any)."""
    receipt: list[int] = []
    answer: list[int] = []
    for state in (kept.row.state for kept in threads):
        if state.opened_at is None:
            continue
        if state.delivered_at is not None:
            receipt.append(state.delivered_at - state.opened_at)
        if state.responded_at is not None:
            answer.append(state.responded_at - state.opened_at)
    return (
        float(statistics.median(receipt)) if receipt else None,
        float(statistics.median(answer)) if answer else None,
    )


def _chased(state: ThreadState) -> bool:
    return state.kind is not None and state.kind.value in CHASED_KINDS


def _is_open(state: ThreadState) -> bool:
    return state.phase.value in OPEN_PHASES


def _at_or_before(at: int | None, now: int) -> bool:
    return at is not None and at <= now


def _by_deadline(row: ThreadRow) -> tuple[int, str]:
    deadline = row.current_deadline
    return (_FAR if deadline is None else deadline, row.state.thread_id)


def _by_opened(row: ThreadRow) -> tuple[int, str]:
    return (row.state.opened_at or 0, row.state.thread_id)


def _by_refusal(row: ThreadRow) -> tuple[int, str]:
    return (row.state.closed_at or 0, row.state.thread_id)


def _by_answer(row: ThreadRow) -> tuple[int, str]:
    # Threads without an answer last, as the SQL store's NULLS LAST puts them.
    return (row.state.responded_at or -1, row.state.thread_id)


def _by_oldest_answer(row: ThreadRow) -> tuple[bool, int, str]:
    # Threads without an answer last, as the SQL store's NULLS LAST puts them.
    answered = row.state.responded_at
    return (answered is None, answered or 0, row.state.thread_id)


_NEWEST_FIRST = {ListOrder.NEWEST_REFUSAL: _by_refusal, ListOrder.NEWEST_ANSWER: _by_answer}
_OLDEST_FIRST = {
    ListOrder.EARLIEST_DEADLINE: _by_deadline,
    ListOrder.OLDEST: _by_opened,
    ListOrder.OLDEST_ANSWER: _by_oldest_answer,
}
