"""The dashboard's reads of the SQL TrackerStore: lists, timeline, figures, metrics."""

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from broker.store.tracker_rows import (
    RECIPIENT,
    filtered,
    refusal_entry,
    thread_record,
    timeline_entry,
    words,
)
from broker.store.tracker_tables import (
    alerts,
    events,
    refused_events,
    thread_agencies,
    threads,
    tracker_directory,
)
from broker.tracker.listings import (
    CHASED_KINDS,
    NO_URGENCY,
    OPEN_PHASES,
    ListOrder,
    ThreadListing,
)
from broker.tracker.records import (
    AgencyFigures,
    AgencyWeek,
    RefusalEntry,
    ThreadFilter,
    ThreadRow,
    TimelineEntry,
)
from broker.tracker.trends import MISSED_LEVEL, MISSED_REASONS, WEEK, week_start

_T = threads.c
_TA = thread_agencies.c
_ORDER: dict[ListOrder, tuple[ColumnElement[Any], ...]] = {
    ListOrder.EARLIEST_DEADLINE: (_T.current_deadline.asc().nulls_last(), _T.thread_id),
    ListOrder.NEWEST_REFUSAL: (_T.closed_at.desc(), _T.thread_id.desc()),
    ListOrder.OLDEST: (_T.opened_at, _T.thread_id),
    ListOrder.NEWEST_ANSWER: (_T.responded_at.desc().nulls_last(), _T.thread_id.desc()),
    ListOrder.OLDEST_ANSWER: (_T.responded_at.asc().nulls_last(), _T.thread_id),
    ListOrder.NEWEST: (_T.opened_at.desc(), _T.thread_id.desc()),
}


class TrackerQueries:
    """Read side of SqlTrackerStore; raises StoreError (StoreUnavailable) like it."""

    def _transaction(
        self, operation: str, *, writes: bool = False
    ) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError  # SqlTrackerStore opens them

    async def threads(
        self, listing: ThreadListing, flt: ThreadFilter, *, limit: int = 100, offset: int = 0
    ) -> list[ThreadRow]:
        """One page of a dashboard list, in the list's order (read off its index)."""
        query = select(threads).where(_T.phase.in_(words(listing.phases)))
        if listing.kinds is not None:
            query = query.where(_T.kind.in_(words(listing.kinds)))
        if listing.without_consent:
            query = query.where(_T.basis.is_not(None))
        query = filtered(query, flt).order_by(*_ORDER[listing.order]).limit(limit).offset(offset)
        async with self._transaction(listing.name) as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [thread_record(row) for row in rows]

    async def thread(self, thread_id: str) -> ThreadRow | None:
        """One thread; None when no event of it is known."""
        query = select(threads).where(_T.thread_id == thread_id)
        async with self._transaction("thread") as connection:
            row = (await connection.execute(query)).mappings().one_or_none()
        return None if row is None else thread_record(row)

    async def timeline(self, thread_id: str) -> list[TimelineEntry]:
        """A thread's events by issue time (then arrival, then message id)."""
        query = (
            select(events)
            .where(events.c.thread_id == thread_id)
            .order_by(events.c.issued_at, events.c.received_at, events.c.message_id)
        )
        async with self._transaction("timeline") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [timeline_entry(row) for row in rows]

    async def refusals(self, thread_id: str) -> list[RefusalEntry]:
        """The messages refused for a thread, in arrival order (ties: message id)."""
        query = (
            select(refused_events)
            .where(refused_events.c.thread_id == thread_id)
            .order_by(refused_events.c.received_at, refused_events.c.message_id)
        )
        async with self._transaction("refusals") as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [refusal_entry(row) for row in rows]

    async def agency_figures(self, flt: ThreadFilter, now: int) -> list[AgencyFigures]:
        """Per recipient agency of referrals and transfers: open, overdue, median times."""
        base = filtered(
            select(_TA.agency.label("agency"), _TA.current_deadline.label("due"), *threads.c)
            .select_from(threads.join(thread_agencies, _TA.thread_id == _T.thread_id))
            .where(_TA.role == RECIPIENT, _T.kind.in_(words(CHASED_KINDS))),
            flt,
        ).subquery()
        is_open = base.c.phase.in_(words(OPEN_PHASES))
        overdue = base.c.due <= now  # a recipient's own unmet deadline
        counts = select(
            base.c.agency,
            func.sum(case((is_open, 1), else_=0)),
            func.sum(case((overdue, 1), else_=0)),
        ).group_by(base.c.agency)
        async with self._transaction("agency_figures") as connection:
            totals = (await connection.execute(counts)).all()
            receipt = await _medians(connection, base, "delivered_at", ("agency",))
            answer = await _medians(connection, base, "responded_at", ("agency",))
        return [
            AgencyFigures(
                agency, int(opened), int(late), receipt.get((agency,)), answer.get((agency,))
            )
            for agency, opened, late in sorted(totals)
        ]

    async def agency_weeks(self, flt: ThreadFilter, since: int, until: int) -> list[AgencyWeek]:
        """Per recipient agency and week of issue: received, overdue, median times.

        Three grouped reads in one transaction (counts, then each median), each over the
        span at once: never a read per week or per agency.
        """
        # Monday of opened_at's week: week_start in SQL (both operands positive integers).
        monday = week_start(0)
        week = (_T.opened_at - (_T.opened_at - monday) % WEEK).label("week")
        base = filtered(
            select(_TA.agency.label("agency"), week, *threads.c)
            .select_from(threads.join(thread_agencies, _TA.thread_id == _T.thread_id))
            .where(
                _TA.role == RECIPIENT,
                _T.kind.in_(words(CHASED_KINDS)),
                _T.opened_at >= since,
                _T.opened_at < until,
            ),
            flt,
        ).subquery()
        # The tracker's record of the deadline passing: a reminder to that very recipient.
        missed = exists().where(
            alerts.c.thread_id == base.c.thread_id,
            alerts.c.agency == base.c.agency,
            alerts.c.level == MISSED_LEVEL,
            alerts.c.reason.in_(words(MISSED_REASONS)),
        )
        keys = (base.c.agency, base.c.week)
        counts = select(*keys, func.count(), func.sum(case((missed, 1), else_=0))).group_by(*keys)
        async with self._transaction("agency_weeks") as connection:
            totals = (await connection.execute(counts)).all()
            receipt = await _medians(connection, base, "delivered_at", ("agency", "week"))
            answer = await _medians(connection, base, "responded_at", ("agency", "week"))
        return [
            AgencyWeek(
                agency=agency,
                week=int(start),
                received=int(n),
                overdue=int(late),
                median_receipt_s=receipt.get((agency, int(start))),
                median_answer_s=answer.get((agency, int(start))),
            )
            for agency, start, n, late in sorted(totals)
        ]

    async def metrics(self, now: int) -> dict[str, object]:
        """open_threads, overdue {(recipient, urgency): n}, alerts_raised, alerts_unpublished,
        last_event_received_at (None before any event), directory_serial."""
        is_open = _T.phase.in_(words(OPEN_PHASES))
        # Driven from the overdue threads (a range of the deadline index), not from the
        # agency index: SQLite otherwise walks every thread_agencies row to skip a sort.
        late_threads = select(_T.thread_id).where(_T.current_deadline <= now)
        overdue_leg = and_(_T.thread_id.in_(late_threads), _TA.current_deadline <= now)
        urgency = func.coalesce(_T.urgency, literal(NO_URGENCY))
        overdue = (
            select(_TA.agency, urgency, func.count())
            .select_from(threads.join(thread_agencies, _TA.thread_id == _T.thread_id))
            .where(_TA.role == RECIPIENT, overdue_leg)
            .group_by(_TA.agency, urgency)
        )
        figures = select(
            select(func.count()).where(is_open).select_from(threads).scalar_subquery(),
            select(func.count()).select_from(alerts).scalar_subquery(),
            select(func.count())
            .select_from(alerts)
            .where(alerts.c.published_at.is_(None))
            .scalar_subquery(),
            select(func.max(events.c.received_at)).scalar_subquery(),
            select(func.max(tracker_directory.c.serial)).scalar_subquery(),
        )
        async with self._transaction("metrics") as connection:
            n_open, raised, unpublished, last, serial = (await connection.execute(figures)).one()
            late = (await connection.execute(overdue)).all()
        return {
            "open_threads": int(n_open),
            "overdue": {(agency, level): int(n) for agency, level, n in late},
            "alerts_raised": int(raised),
            "alerts_unpublished": int(unpublished),
            "last_event_received_at": last,
            "directory_serial": int(serial or 0),
        }


async def _medians(
    connection: AsyncConnection, base: Any, column: str, keys: tuple[str, ...]
) -> dict[tuple[Any, ...], float]:
    """Median seconds from opened_at to `column` per group of `keys` columns of `base`,
    computed in the database; keyed by the tuple of the group's values.

    One code path for SQLite and PostgreSQL: rank the durations per group, then average
    the middle one (odd count) or two (even count). Nothing is loaded but one row a group.
    """
    groups = [base.c[key] for key in keys]
    seconds = (base.c[column] - base.c.opened_at).label("seconds")
    ranked = (
        select(
            *groups,
            seconds,
            func.row_number().over(partition_by=groups, order_by=seconds).label("rank"),
            func.count().over(partition_by=groups).label("n"),
        )
        .where(base.c[column].is_not(None), base.c.opened_at.is_not(None))
        .subquery()
    )
    # Integer division on both: n=5 -> ranks 3, 3; n=4 -> ranks 2, 3.
    middle = ranked.c.rank.in_([(ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2])
    by = [ranked.c[key] for key in keys]
    query = select(*by, func.avg(ranked.c.seconds)).where(middle).group_by(*by)
    rows = (await connection.execute(query)).all()
    return {tuple(row[:-1]): float(row[-1]) for row in rows}
