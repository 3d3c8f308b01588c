"""The server-rendered pages, the live fragments they poll, and the CSV exports.

Each leaves a view record through the Dashboard (`broker.web.queries`) before it shows data.
"""

import re
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, Response

from broker.look import N_, Formats
from broker.tracker.state import Phase
from broker.web.auth import Auth
from broker.web.charts import now_chart, trends
from broker.web.export import agencies_csv, agency_weeks_csv, file_stamp, threads_csv
from broker.web.labels import columns
from broker.web.models import ThreadList
from broker.web.queries import TITLES, Dashboard, Filters, Listing, Surface, ThreadKind
from broker.web.screens import Screens, reader_of
from broker.web.users import Role, User
from schemas.ids import AGENCY_ID_PATTERN, UUID4_PATTERN
from schemas.kinds import Urgency

PAGE_SIZE = 200
_AGENCY = re.compile(AGENCY_ID_PATTERN)
E = TypeVar("E", bound=StrEnum)
THREAD_NOT_FOUND = N_("Thread not found")
NOT_A_PARTY = N_("No such thread, or not one your agency is a party to.")
BAD_AGENCY = N_("The agency must be an agency id like hospital-east.")
UNKNOWN = {
    "kind": N_("Unknown kind."),
    "urgency": N_("Unknown urgency."),
    "state": N_("Unknown state."),
}
PAGE_DETAILS = frozenset({BAD_AGENCY, *UNKNOWN.values()})
"""What a page's 422 says of a filter value it does not know: English messages, which the
error page translates (any other detail is said by its status alone)."""


def page_filters(agency: str = "", kind: str = "", urgency: str = "", state: str = "") -> Filters:
    """The filters of a page request; the form sends "" for "any". Raises HTTPException 422."""
    if agency and not _AGENCY.fullmatch(agency):
        raise HTTPException(422, BAD_AGENCY)
    return Filters(
        agency=agency or None,
        kind=_choice(ThreadKind, kind, "kind"),
        urgency=_choice(Urgency, urgency, "urgency"),
        state=_choice(Phase, state, "state"),
    )


def pages_router(dash: Dashboard, auth: Auth, screens: Screens) -> APIRouter:
    """Every HTML page, fragment and export; each needs a signed-in user."""
    router = APIRouter(include_in_schema=False)
    PageUser = Annotated[User, Depends(auth.page_user)]
    # Exports also take HTTP Basic, so a script can fetch them like the JSON API.
    ApiUser = Annotated[User, Depends(auth.api_user)]
    Filtered = Annotated[Filters, Depends(page_filters)]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Offset = Annotated[int, Query(ge=0)]

    def list_page(listing: Listing) -> Callable[..., Awaitable[HTMLResponse]]:
        async def endpoint(
            user: PageUser, filters: Filtered, limit: Limit = PAGE_SIZE, offset: Offset = 0
        ) -> HTMLResponse:
            data = await dash.threads(
                user, listing, filters, limit=limit, offset=offset, surface=Surface.PAGE
            )
            reader = reader_of(user)
            path, query = f"/{listing.value}", _query(filters, limit, offset)
            later = _query(filters, limit, offset + limit)
            page = screens.page(
                "list.html",
                reader,
                active=path,
                title=TITLES[listing],
                path=path,
                filters=filters,
                export_href=_with_query(f"/export/{listing.value}.csv", filters.query()),
                updated=reader.formats.stamp(data.now),
                fragment=f"/fragments/{listing.value}?{query}",
                next_href=f"{path}?{later}" if len(data.items) == limit else None,
                limit=limit,
                **_table(listing, data),
            )
            return HTMLResponse(page)

        return endpoint

    def fragment(listing: Listing) -> Callable[..., Awaitable[HTMLResponse]]:
        async def endpoint(
            user: PageUser, filters: Filtered, limit: Limit = PAGE_SIZE, offset: Offset = 0
        ) -> HTMLResponse:
            data = await dash.threads(
                user, listing, filters, limit=limit, offset=offset, surface=Surface.FRAGMENT
            )
            reader = reader_of(user)
            stamp = {"X-Updated-At": reader.formats.stamp(data.now)}
            table = screens.page("threads.html", reader, **_table(listing, data))
            return HTMLResponse(table, headers=stamp)

        return endpoint

    def export(listing: Listing) -> Callable[..., Awaitable[Response]]:
        async def endpoint(user: ApiUser, filters: Filtered) -> Response:
            data = await dash.export(user, listing, filters)
            return _csv(threads_csv(data.items), listing.value, data.now)

        return endpoint

    for listing in Listing:
        router.get(f"/{listing.value}")(list_page(listing))
        router.get(f"/fragments/{listing.value}")(fragment(listing))
        router.get(f"/export/{listing.value}.csv")(export(listing))
    router.get("/")(list_page(Listing.UNANSWERED))

    @router.get("/threads/{thread_id}")
    async def thread_page(
        user: PageUser, thread_id: Annotated[str, Path(pattern=UUID4_PATTERN, max_length=36)]
    ) -> HTMLResponse:
        # The view is recorded before anything of the thread is read out.
        item = await dash.thread(user, thread_id, surface=Surface.PAGE)
        reader = reader_of(user)
        if item is None:
            page = screens.error(reader, THREAD_NOT_FOUND, NOT_A_PARTY)
            return HTMLResponse(page, 404)
        page = screens.page(
            "thread.html",
            reader,
            item=item,
            now=dash.now(),
            timeline=await dash.timeline(thread_id),
            views=await dash.views(thread_id) if user.role is Role.COORDINATOR else None,
        )
        return HTMLResponse(page)

    @router.get("/agencies")
    async def agencies_page(user: PageUser, filters: Filtered) -> HTMLResponse:
        figures = await dash.agencies(user, filters, surface=Surface.PAGE)
        weeks = await dash.agency_weeks(user, filters, surface=Surface.PAGE)
        reader = reader_of(user)
        page = screens.page(
            "agencies.html",
            reader,
            active="/agencies",
            filters=filters,
            export_href=_with_query("/export/agencies.csv", filters.query()),
            weeks_export_href=_with_query("/export/agency-weeks.csv", filters.query()),
            figures=figures,
            chart=now_chart(figures),
            trends=trends(weeks),
            # Weeks run Monday to Sunday in UTC: their dates are written in UTC.
            weeks_fmt=Formats(reader.language, "UTC"),
        )
        return HTMLResponse(page)

    @router.get("/export/agencies.csv")
    async def agencies_export(user: ApiUser, filters: Filtered) -> Response:
        figures = await dash.agencies(user, filters, surface=Surface.EXPORT)
        return _csv(agencies_csv(figures), "agencies", dash.now())

    @router.get("/export/agency-weeks.csv")
    async def agency_weeks_export(user: ApiUser, filters: Filtered) -> Response:
        weeks = await dash.agency_weeks(user, filters, surface=Surface.EXPORT)
        return _csv(agency_weeks_csv(weeks), "agency-weeks", dash.now())

    return router


def _table(listing: Listing, data: ThreadList) -> dict[str, object]:
    """What `threads.html` draws: the list's columns and rows as seen at `data.now`."""
    return {"listing": listing, "columns": columns(listing), "items": data.items, "now": data.now}


def _with_query(path: str, query: str) -> str:
    return path + (f"?{query}" if query else "")


def _choice(enum: type[E], value: str, name: str) -> E | None:
    if not value:
        return None
    try:
        return enum(value)
    except ValueError as error:
        raise HTTPException(422, UNKNOWN[name]) from error


def _query(filters: Filters, limit: int, offset: int) -> str:
    extra = [f"limit={limit}"] + ([f"offset={offset}"] if offset else [])
    return "&".join(part for part in (filters.query(), *extra) if part)


def _csv(text: str, name: str, now: int) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}-{file_stamp(now)}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
