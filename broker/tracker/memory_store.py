"""TrackerStore held in memory: same contract as the SQL store, nothing survives a restart.

Each method runs without awaiting, so under asyncio every call is atomic on its own.
"""

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from broker.tracker.escalation import due_alerts
from broker.tracker.events import TrackedEvent
from broker.tracker.policy import SlaPolicy
from broker.tracker.records import (
    AgencyFigures,
    RecordedAlert,
    ThreadFilter,
    ThreadRow,
    TimelineEntry,
)
from broker.tracker.schedule import (
    AWAITING_PHASES,
    CHASED_KINDS,
    LIMBO_PHASES,
    NO_URGENCY,
    OPEN_PHASES,
    REFUSED_PHASES,
    leg_deadlines,
    outbox_alerts,
    thread_row,
)
from broker.tracker.state import Phase, ThreadState, thread_state
from schemas.kinds import MessageKind

_FAR = 2**62  # sorts a missing time after every real one


class MemoryTrackerStore:
    """Events, threads, alert outbox and page views in dicts; for tests and throwaway runs."""

    def __init__(self, policy: SlaPolicy, coordinators: Sequence[str]) -> None:
        self._policy = policy
        self._coordinators = tuple(coordinators)
        self._events: dict[str, tuple[TrackedEvent, float]] = {}
        self._thread_events: dict[str, list[TrackedEvent]] = defaultdict(list)
        self._threads: dict[str, ThreadRow] = {}
        self._alerts: dict[str, RecordedAlert] = {}
        self._raised: dict[str, set[str]] = defaultdict(set)  # thread id -> planned keys
        self._views: dict[str, list[tuple[str, float]]] = defaultdict(list)

    async def create(self) -> None:
        """Nothing to create."""

    async def close(self) -> None:
        """Nothing to release."""

    async def ingest(self, events: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        """Store new events and refold their threads; True where the event was new."""
        received_at = float(received_at)  # stored as the SQL stores do
        new: list[bool] = []
        touched: set[str] = set()
        for event in events:
            fresh = event.message_id not in self._events
            new.append(fresh)
            if fresh:
                self._events[event.message_id] = (event, received_at)
                self._thread_events[event.thread_id].append(event)
                touched.add(event.thread_id)
        for thread_id in touched:
            state = thread_state(thread_id, self._thread_events[thread_id])
            raised = self._raised[thread_id]
            self._threads[thread_id] = thread_row(state, self._policy, raised, received_at)
        return new

    async def sweep(self, now: int, *, limit: int = 10_000) -> list[RecordedAlert]:
        """Record every alert due at `now` once; return those newly recorded.

        Raises NoCoordinators (nothing recorded) when an alert is for the coordinators and
        none is configured. `limit` only bounds the SQL store's transactions.
        """
        due = sorted(
            (row for row in self._threads.values() if _at_or_before(row.next_check_at, now)),
            key=lambda row: (row.next_check_at or 0, row.state.thread_id),
        )
        planned = [
            (row, due_alerts(row.state, self._policy, now, self._raised[row.state.thread_id]))
            for row in due
        ]
        # Converted before anything is kept, so a NoCoordinators leaves the store unchanged.
        owed = [outbox_alerts(alerts, self._coordinators) for _, alerts in planned]
        recorded: list[RecordedAlert] = []
        for (row, alerts), records in zip(planned, owed, strict=True):
            thread_id = row.state.thread_id
            for record, _ in records:
                if record.key not in self._alerts:
                    self._alerts[record.key] = record
                    recorded.append(record)
            self._raised[thread_id] |= {alert.key for alert in alerts}
            self._threads[thread_id] = thread_row(
                row.state, self._policy, self._raised[thread_id], row.updated_at
            )
        return recorded

    async def unpublished_alerts(self, limit: int) -> list[RecordedAlert]:
        """Alerts recorded but not yet confirmed by the broker, oldest first."""
        pending = [alert for alert in self._alerts.values() if alert.published_at is None]
        pending.sort(key=lambda alert: (alert.raised_at, alert.key))
        return pending[:limit]

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm; the first confirm time is kept, unknown keys ignored."""
        for key in keys:
            alert = self._alerts.get(key)
            if alert is not None and alert.published_at is None:
                self._alerts[key] = replace(alert, published_at=float(at))

    async def unanswered(
        self, flt: ThreadFilter, now: int, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Referrals and transfers awaiting receipt or an answer, earliest deadline first."""
        rows = self._select(flt, lambda s: _chased(s) and s.phase.value in AWAITING_PHASES)
        return _page(rows, _by_deadline, limit, offset)

    async def declined(
        self, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Declined and redirected referrals and transfers, newest refusal first."""
        rows = self._select(flt, lambda s: _chased(s) and s.phase.value in REFUSED_PHASES)
        newest = sorted(rows, key=lambda row: (row.state.closed_at or 0, row.state.thread_id))
        return newest[::-1][offset : offset + limit]

    async def transfers_in_limbo(
        self, flt: ThreadFilter, now: int, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Transfers not accepted: awaiting an answer, declined or redirected; oldest first."""
        rows = self._select(
            flt, lambda s: s.kind is MessageKind.TRANSFER and s.phase.value in LIMBO_PHASES
        )
        return _page(rows, _by_opened, limit, offset)

    async def consent_withdrawals_pending(
        self, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Consent withdrawals some recipient has not acknowledged, oldest first."""
        rows = self._select(flt, lambda s: s.phase is Phase.PENDING)
        return _page(rows, _by_opened, limit, offset)

    async def thread(self, thread_id: str) -> ThreadRow | None:
        """One thread; None when no event of it is known."""
        return self._threads.get(thread_id)

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
                received_at=self._events[event.message_id][1],
            )
            for event in self._thread_events.get(thread_id, [])
        ]
        return sorted(entries, key=lambda e: (e.issued_at, e.received_at, e.message_id))

    async def agency_figures(self, flt: ThreadFilter, now: int) -> list[AgencyFigures]:
        """Per recipient agency of referrals and transfers: open, overdue, median times."""
        rows = self._select(flt, _chased)
        by_agency: dict[str, list[ThreadRow]] = defaultdict(list)
        for row in rows:
            for agency in row.state.recipients:
                by_agency[agency].append(row)
        return [self._figures(agency, by_agency[agency], now) for agency in sorted(by_agency)]

    async def record_view(self, user: str, thread_id: str, at: float) -> None:
        """Audit: `user` looked at `thread_id`."""
        self._views[thread_id].append((user, float(at)))

    async def views(self, thread_id: str) -> list[tuple[str, float]]:
        """Audit trail of one thread: (user, at), oldest first."""
        return sorted(self._views.get(thread_id, []), key=lambda view: view[1])

    async def metrics(self, now: int) -> dict[str, object]:
        """open_threads, overdue {(recipient, urgency): n}, alerts_raised, alerts_unpublished,
        last_event_received_at (None before any event)."""
        open_rows = [row for row in self._threads.values() if _is_open(row.state)]
        overdue: dict[tuple[str, str], int] = defaultdict(int)
        for row in open_rows:
            urgency = row.state.urgency.value if row.state.urgency else NO_URGENCY
            for agency, due in leg_deadlines(row.state, self._policy).items():
                if due <= now:
                    overdue[(agency, urgency)] += 1
        received = (at for _, at in self._events.values())
        return {
            "open_threads": len(open_rows),
            "overdue": dict(overdue),
            "alerts_raised": len(self._alerts),
            "alerts_unpublished": sum(a.published_at is None for a in self._alerts.values()),
            "last_event_received_at": max(received, default=None),
        }

    def _figures(self, agency: str, rows: list[ThreadRow], now: int) -> AgencyFigures:
        open_rows = [row for row in rows if _is_open(row.state)]
        receipt: list[int] = []
        answer: list[int] = []
        for state in (row.state for row in rows):
            if state.opened_at is None:
                continue
            if state.delivered_at is not None:
                receipt.append(state.delivered_at - state.opened_at)
            if state.responded_at is not None:
                answer.append(state.responded_at - state.opened_at)
        return AgencyFigures(
            agency=agency,
            open=len(open_rows),
            overdue=sum(_at_or_before(self._leg_deadline(row, agency), now) for row in rows),
            median_receipt_s=float(statistics.median(receipt)) if receipt else None,
            median_answer_s=float(statistics.median(answer)) if answer else None,
        )

    def _leg_deadline(self, row: ThreadRow, agency: str) -> int | None:
        return leg_deadlines(row.state, self._policy).get(agency)

    def _select(self, flt: ThreadFilter, wanted: Callable[[ThreadState], bool]) -> list[ThreadRow]:
        return [
            row for row in self._threads.values() if wanted(row.state) and _matches(row.state, flt)
        ]


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


def _page(
    rows: Iterable[ThreadRow], key: Callable[[ThreadRow], tuple[int, str]], limit: int, offset: int
) -> list[ThreadRow]:
    return sorted(rows, key=key)[offset : offset + limit]
