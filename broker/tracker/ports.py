"""The tracker's storage port: one contract, SQLite/PostgreSQL and in-memory implement it."""

from collections.abc import Sequence
from typing import Protocol

from broker.tracker.events import TrackedEvent
from broker.tracker.records import (
    AgencyFigures,
    RecordedAlert,
    ThreadFilter,
    ThreadRow,
    TimelineEntry,
)


class TrackerStore(Protocol):
    """Events, folded threads, the alert outbox and the audit of page views.

    The store applies the pure core (`thread_state`, `open_deadlines`, `due_alerts`,
    `to_alerts`, and `schedule` for what the implementations share) with the SlaPolicy and
    coordinator ids it was built with. Times from headers are int Unix seconds; the
    tracker's own clock (received_at, at) is float Unix seconds. The SQL store raises
    StoreError (StoreUnavailable when worth retrying) and commits nothing of a failed call.
    Lists filter with ThreadFilter and page with limit/offset; ties break on thread_id.
    """

    async def create(self) -> None:
        """Create or migrate the schema; idempotent."""

    async def close(self) -> None:
        """Release connections."""

    async def ingest(self, events: Sequence[TrackedEvent], received_at: float) -> list[bool]:
        """Store new events and refold their threads, in ONE transaction.

        Returns True where the event was new (a duplicate message id changes nothing; of
        repeats within one batch only the first is True). A thread whose new state is
        declined-transfer or declined-emergency gets next_check_at = now-ish (received_at or
        the refusal's issue time, whichever is earlier) so the next sweep raises its alert.
        """

    async def sweep(self, now: int, *, limit: int = 10_000) -> list[RecordedAlert]:
        """Record every alert due at `now` exactly once; return those newly recorded.

        Threads are found by the next_check_at index (never all loaded at once). Each alert
        is recorded in the same transaction that moves its thread's next_check_at; alert keys
        are unique, so two trackers sweeping one database never record one twice. `limit`:
        threads per transaction (the SQL store works through all due threads, chunk by
        chunk). One record per addressee; key = planned key + ">" + addressee agency.
        Raises NoCoordinators (nothing of that chunk recorded) when an alert is for the
        coordinators and the store has none.
        """

    async def unpublished_alerts(self, limit: int) -> list[RecordedAlert]:
        """Alerts recorded but not yet confirmed by the broker, oldest first."""

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm for these alerts; the first confirm time is kept,
        unknown keys are ignored."""

    async def unanswered(
        self, flt: ThreadFilter, now: int, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Open referrals/transfers still awaiting receipt or an answer (phase sent or
        delivered), earliest deadline first: ORDER BY current_deadline (NULLs last)."""

    async def declined(
        self, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Declined and redirected referrals/transfers, newest refusal (closed_at) first."""

    async def transfers_in_limbo(
        self, flt: ThreadFilter, now: int, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Transfers not yet accepted (sent, delivered) or declined/redirected, oldest
        (opened_at) first."""

    async def consent_withdrawals_pending(
        self, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """Consent withdrawals some recipient has not acknowledged yet, oldest first."""

    async def thread(self, thread_id: str) -> ThreadRow | None:
        """One thread; None when no event of it is known."""

    async def timeline(self, thread_id: str) -> list[TimelineEntry]:
        """A thread's events in issued order (ties: arrival, then message id)."""

    async def agency_figures(self, flt: ThreadFilter, now: int) -> list[AgencyFigures]:
        """Per recipient agency of referrals/transfers matching `flt`, sorted by agency:
        open threads, overdue ones (that recipient's own deadline passed at `now`), and
        median seconds from issue to receipt and to answer (None without any)."""

    async def record_view(self, user: str, thread_id: str, at: float) -> None:
        """Audit: `user` looked at `thread_id`."""

    async def views(self, thread_id: str) -> list[tuple[str, float]]:
        """Audit trail of one thread: (user, at), oldest first."""

    async def metrics(self, now: int) -> dict[str, object]:
        """Figures for /metrics: {"open_threads": int, "overdue": {(recipient agency,
        urgency or "none"): int}, "alerts_raised": int, "alerts_unpublished": int,
        "last_event_received_at": float | None} (the last for ingest lag)."""
