"""The tracker's storage port: SQLite/PostgreSQL and in-memory implement it.

The stores keep what they are given and decide nothing: which events are new, how a thread
folds, which alerts are due and when a thread is looked at next are decided once, by the
ledger (`broker.tracker.ledger`) with the pure core. One contract test suite runs on every
implementation.
"""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from broker.tracker.access import AccessStore
from broker.tracker.events import TrackedEvent
from broker.tracker.listings import ThreadListing
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


class TrackerWrites(Protocol):
    """The reads and writes of one transaction (see `TrackerStore.writing`).

    Thread ids and keys passed in may come in any order; the SQL store takes its locks in
    sorted order, so two trackers on one database wait for each other, never deadlock.
    """

    async def claims_for_update(self, thread_ids: Sequence[str]) -> dict[str, ThreadClaim]:
        """The claim of each of these threads (every id asked for is a key; an empty claim
        for a thread not stored yet, which has no stored event either). The threads, stored
        or not, stay locked until the transaction ends, so a concurrent writer of one waits
        and then sees what this one stored. An ingest calls it first: before reading which
        messages are known, storing events or saving threads."""

    async def known_messages(self, message_ids: Sequence[str]) -> set[str]:
        """The ids among `message_ids` already stored, as events or as refusals."""

    async def add_events(self, events: Sequence[TrackedEvent], received_at: float) -> set[str]:
        """Store the events whose message id is not stored yet; return the ids stored now.

        The events' message ids are distinct.
        """

    async def add_refusals(
        self, events: Sequence[TrackedEvent], reason: str, received_at: float
    ) -> None:
        """Keep these refused events (distinct, new message ids) with their reason slug."""

    async def events_of(self, thread_ids: Sequence[str]) -> dict[str, list[TrackedEvent]]:
        """Every stored event of these threads (every id asked for is a key), read after
        `claims_for_update` locked them."""

    async def recorded_keys(self, thread_ids: Sequence[str]) -> dict[str, set[str]]:
        """The outbox keys recorded for these threads (every id asked for is a key)."""

    async def save_threads(self, threads: Sequence[FoldedThread]) -> None:
        """Store these threads' rows with their claims, new or replacing the stored ones (a
        new revision); locked by `claims_for_update` in this transaction. Parties only ever
        grow: a claim saved holds every party of the claim read."""

    async def due_threads(self, now: int, limit: int) -> list[DueThread]:
        """Up to `limit` threads whose next_check_at is at or before `now`, in the order of
        (next_check_at, thread_id), found by the next_check_at index."""

    async def add_alerts(self, alerts: Sequence[OwedAlert]) -> set[str]:
        """Record the alerts whose key is not recorded yet; return the keys recorded now.

        Keys are unique: two trackers recording one alert record it once.
        """

    async def move_next_checks(self, moves: Sequence[NextCheck]) -> None:
        """Set next_check_at of each thread still at the move's revision."""


class TrackerStore(AccessStore, Protocol):
    """Events, thread rows, the alert outbox and the dashboard's reads; and, from AccessStore,
    the dashboard's sessions, sign-in log and view records.

    Times from headers are int Unix seconds; the tracker's own clock (received_at, at) is
    float Unix seconds. The SQL store raises StoreError (StoreUnavailable when worth
    retrying) and commits nothing of a failed call or transaction. Lists filter with
    ThreadFilter and page with limit/offset; ties break on thread_id.
    """

    async def create(self) -> None:
        """Create or migrate the schema; idempotent."""

    async def close(self) -> None:
        """Release connections."""

    def writing(self, operation: str) -> AbstractAsyncContextManager[TrackerWrites]:
        """One transaction: kept whole when the block ends normally, nothing of it otherwise.

        `operation` names it in errors ("ingest failed: ...").
        """

    async def claim_unpublished_alerts(
        self, limit: int, holder: str, now: float, lease_s: float
    ) -> list[RecordedAlert]:
        """Lease up to `limit` alerts recorded but not yet confirmed by the broker to
        `holder` until `now + lease_s`, and return them oldest first.

        Claimable are those with no lease, an expired one (ending at or before `now`: its
        holder died or stalled mid-batch) or one held by `holder` itself (its retry after a
        failed publish). Atomic: two holders claiming at once never get the same alert, so
        two trackers' relays over one store do not publish one alert together. `holder`
        is at most LEASE_HOLDER_CHARS long.
        """

    async def mark_alerts_published(self, keys: Sequence[str], at: float) -> None:
        """Record the broker's confirm for these alerts; the first confirm time is kept,
        unknown keys are ignored."""

    async def threads(
        self, listing: ThreadListing, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """One page of a dashboard list (`broker.tracker.listings`): the threads it includes
        that match `flt`, in its order."""

    async def thread(self, thread_id: str) -> ThreadRow | None:
        """One thread; None when no event of it is known."""

    async def timeline(self, thread_id: str) -> list[TimelineEntry]:
        """A thread's events in issued order (ties: arrival, then message id)."""

    async def refusals(self, thread_id: str) -> list[RefusalEntry]:
        """The messages refused for a thread, in arrival order (ties: message id)."""

    async def agency_figures(self, flt: ThreadFilter, now: int) -> list[AgencyFigures]:
        """Per recipient agency of referrals/transfers matching `flt`, sorted by agency:
        open threads, overdue ones (that recipient's own deadline passed at `now`), and
        median seconds from issue to receipt and to answer (None without any)."""

    async def agency_weeks(self, flt: ThreadFilter, since: int, until: int) -> list[AgencyWeek]:
        """Per recipient agency and week (`broker.tracker.trends.week_start`) of the
        referrals/transfers matching `flt` issued in [since, until), sorted by agency then
        week; weeks without any are left out. One grouped read, whatever the span."""

    async def directory_serial(self) -> int:
        """The highest directory serial accepted; 0 before any."""

    async def accept_directory_serial(self, serial: int, at: float) -> int:
        """Keep `serial` if higher than the one kept; return the one kept after (the
        highest ever accepted: a lower one is never kept)."""

    async def metrics(self, now: int) -> dict[str, object]:
        """Figures for /metrics: {"open_threads": int, "overdue": {(recipient agency,
        urgency or "none"): int}, "alerts_raised": int, "alerts_unpublished": int,
        "last_event_received_at": float | None (the last for ingest lag), "directory_serial":
        int (the highest accepted)}."""
