"""The reads every page, API route and export shares: the user's scope applied once, and a
view record left by every read that shows thread data."""

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from broker.look import N_
from broker.tracker.access import FILTER_CHARS, ViewRecord
from broker.tracker.listings import (
    ACCEPTED_NOT_DONE,
    CONSENT_WITHDRAWALS_PENDING,
    DECLINED,
    SHARED_WITHOUT_CONSENT,
    TRANSFERS_IN_LIMBO,
    TRANSFERS_TAKEN,
    UNANSWERED,
)
from broker.tracker.ports import TrackerStore
from broker.tracker.records import AgencyWeek, ThreadFilter, ThreadRow
from broker.tracker.state import Phase, ThreadState
from broker.tracker.trends import trend_window, weeks_in
from broker.web.models import (
    AgencyOut,
    AgencyWeekOut,
    ThreadList,
    ThreadOut,
    TimelineOut,
    ViewOut,
)
from broker.web.names import AgencyNames, no_names
from broker.web.users import User
from schemas.kinds import Urgency

EXPORT_PAGE, EXPORT_CAP = 1000, 100_000


class Listing(StrEnum):
    """The dashboard's lists of threads."""

    UNANSWERED = "unanswered"
    DECLINED = "declined"
    TRANSFERS = "transfers"
    TRANSFERS_TAKEN = "transfers-taken"
    ACCEPTED = "accepted"
    CONSENT_WITHDRAWALS = "consent-withdrawals"
    SHARED_WITHOUT_CONSENT = "shared-without-consent"


LISTINGS = {
    Listing.UNANSWERED: UNANSWERED,
    Listing.DECLINED: DECLINED,
    Listing.TRANSFERS: TRANSFERS_IN_LIMBO,
    Listing.TRANSFERS_TAKEN: TRANSFERS_TAKEN,
    Listing.ACCEPTED: ACCEPTED_NOT_DONE,
    Listing.CONSENT_WITHDRAWALS: CONSENT_WITHDRAWALS_PENDING,
    Listing.SHARED_WITHOUT_CONSENT: SHARED_WITHOUT_CONSENT,
}
"""Which threads each list shows, and in which order."""

TITLES = {
    Listing.UNANSWERED: N_("Unanswered"),
    Listing.DECLINED: N_("Declined and redirected"),
    Listing.TRANSFERS: N_("Transfers in limbo"),
    Listing.TRANSFERS_TAKEN: N_("Transfers taken over"),
    Listing.ACCEPTED: N_("Accepted, no plan or outcome yet"),
    Listing.CONSENT_WITHDRAWALS: N_("Consent withdrawals not acknowledged"),
    Listing.SHARED_WITHOUT_CONSENT: N_("Shared without consent"),
}
"""Each list's title: an English message, translated where it is shown."""


class ThreadKind(StrEnum):
    """The kinds a thread can be opened by (the kind filter's choices)."""

    REFERRAL = "referral"
    TRANSFER = "transfer"
    CONSENT = "consent"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a user asked to narrow a list to; the user's own scope is applied on top."""

    agency: str | None = None
    kind: ThreadKind | None = None
    urgency: Urgency | None = None
    state: Phase | None = None

    def query(self) -> str:
        """These filters as a URL query string (empty when none is set)."""
        pairs = [(key, str(value)) for key, value in self._items() if value is not None]
        return urlencode(pairs)

    def _items(self) -> list[tuple[str, object]]:
        return [
            ("agency", self.agency),
            ("kind", self.kind),
            ("urgency", self.urgency),
            ("state", self.state),
        ]


def parties(state: ThreadState) -> set[str]:
    """The agencies a thread involves: its sender and every recipient."""
    found = set(state.recipients)
    if state.sender is not None:
        found.add(state.sender)
    return found


class Surface(StrEnum):
    """Where thread data is shown: the first half of a view record's name."""

    PAGE = "page"
    FRAGMENT = "fragment"  # a list page's live refresh
    EXPORT = "export"  # CSV
    API = "api"  # JSON


class Dashboard:
    """Reads from the tracker store as one user may see them; `clock` gives Unix seconds.

    Every read that shows thread data first leaves a view record: who, when, which view
    (`<surface>:<subject>`) and which thread or filter. It is written before anything is
    read out, so a failed record shows nothing rather than something unrecorded.
    """

    def __init__(
        self, store: TrackerStore, clock: Callable[[], float], names: AgencyNames = no_names
    ):
        self.store, self.clock, self.names = store, clock, names

    def now(self) -> int:
        """The current time in whole Unix seconds."""
        return int(self.clock())

    async def threads(
        self,
        user: User,
        listing: Listing,
        filters: Filters,
        *,
        limit: int,
        offset: int,
        surface: Surface,
    ) -> ThreadList:
        """One page of a list in the list's order (unanswered: most overdue first).

        The store already orders `unanswered` by the earliest unmet deadline: the most
        overdue first, then the nearest deadline, then threads with none.
        """
        paging = urlencode([("limit", limit)] + ([("offset", offset)] if offset else []))
        await self._record(user, surface, listing.value, query=_joined(filters.query(), paging))
        return await self._page(user, listing, filters, limit=limit, offset=offset)

    async def export(self, user: User, listing: Listing, filters: Filters) -> ThreadList:
        """Every thread of a list (up to EXPORT_CAP), read page by page; recorded once."""
        await self._record(user, Surface.EXPORT, listing.value, query=filters.query())
        items: list[ThreadOut] = []
        for offset in range(0, EXPORT_CAP, EXPORT_PAGE):
            page = await self._page(user, listing, filters, limit=EXPORT_PAGE, offset=offset)
            items += page.items
            if len(page.items) < EXPORT_PAGE:
                break
        return ThreadList(now=self.now(), limit=len(items), offset=0, items=items)

    async def thread(
        self, user: User, thread_id: str, *, surface: Surface, subject: str = "thread"
    ) -> ThreadOut | None:
        """One thread, or None when it is unknown or `user` may not see it (then nothing is
        recorded: nothing was shown). `subject` names what of it is shown ("timeline")."""
        row = await self.store.thread(thread_id)
        if row is None or not await self._visible(user, row):
            return None
        await self._record(user, surface, subject, thread_id=thread_id)
        return ThreadOut.of(row, self.now(), self.names)

    async def can_see(self, user: User, thread_id: str) -> bool:
        """Whether the thread exists and `user` may see it; shows none of its data."""
        row = await self.store.thread(thread_id)
        return row is not None and await self._visible(user, row)

    async def timeline(self, thread_id: str) -> list[TimelineOut]:
        """A thread's events; call only after `thread` said the user may see it (and recorded
        the view)."""
        return [TimelineOut.of(entry) for entry in await self.store.timeline(thread_id)]

    async def views(self, thread_id: str) -> list[ViewOut]:
        """Who was shown a thread, oldest first."""
        return [ViewOut(user=u, at=at) for u, at in await self.store.views(thread_id)]

    async def agencies(self, user: User, filters: Filters, *, surface: Surface) -> list[AgencyOut]:
        """Per-agency figures over the threads `user` may see."""
        await self._record(user, surface, "agencies", query=filters.query())
        flt = _scope(user, filters)
        figures = await self.store.agency_figures(flt, self.now())
        return [AgencyOut.of(f, self.names) for f in sorted(figures, key=lambda f: f.agency)]

    async def agency_weeks(
        self, user: User, filters: Filters, *, surface: Surface
    ) -> list[AgencyWeekOut]:
        """Per recipient agency, every week of the last year (`broker.tracker.trends`), the
        current one last, over the threads `user` may see; a week without any is zeros.

        Agencies in order of id; one grouped store read (not one per week)."""
        await self._record(user, surface, "agency-weeks", query=filters.query())
        since, until = trend_window(self.now())
        found = await self.store.agency_weeks(_scope(user, filters), since, until)
        kept = {(f.agency, f.week): f for f in found}
        return [
            AgencyWeekOut.of(
                kept.get((agency, week)) or AgencyWeek(agency, week, 0, 0, None, None), self.names
            )
            for agency in sorted({f.agency for f in found})
            for week in weeks_in(since, until)
        ]

    async def _record(
        self,
        user: User,
        surface: Surface,
        subject: str,
        *,
        thread_id: str | None = None,
        query: str = "",
    ) -> None:
        # `query` holds filters checked against their patterns and enums: ids and categories.
        view = ViewRecord(
            user=user.name,
            at=self.clock(),
            view=f"{surface.value}:{subject}",
            thread_id=thread_id,
            filter=query[:FILTER_CHARS],
        )
        await self.store.record_view(view)

    async def _page(
        self, user: User, listing: Listing, filters: Filters, *, limit: int, offset: int
    ) -> ThreadList:
        now = self.now()
        rows = await self._rows(user, listing, filters, limit, offset)
        items = [ThreadOut.of(row, now, self.names) for row in rows]
        return ThreadList(now=now, limit=limit, offset=offset, items=items)

    async def _rows(
        self, user: User, listing: Listing, filters: Filters, limit: int, offset: int
    ) -> list[ThreadRow]:
        flt = _scope(user, filters)
        rows = await self.store.threads(LISTINGS[listing], flt, limit=limit, offset=offset)
        # The store already scopes by `involving`; checking again here keeps a store bug from
        # showing a supervisor another agency's thread.
        return [row for row in rows if user.may_see(parties(row.state))]

    async def _visible(self, user: User, row: ThreadRow) -> bool:
        involved = parties(row.state)
        if row.state.sender is None:
            # Only answers are known: the parties are whoever those answers name.
            for entry in await self.store.timeline(row.state.thread_id):
                involved |= {entry.sender, entry.recipient}
        return user.may_see(involved)


def _joined(*queries: str) -> str:
    return "&".join(query for query in queries if query)


def _scope(user: User, filters: Filters) -> ThreadFilter:
    return user.scope(
        agency=filters.agency,
        kind=None if filters.kind is None else filters.kind.value,
        urgency=None if filters.urgency is None else filters.urgency.value,
        phase=None if filters.state is None else filters.state.value,
    )
