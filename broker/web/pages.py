"""The server-rendered pages, the live fragments they poll, and the CSV exports.

Each leaves a view record through the Dashboard (`broker.web.queries`) before it shows data.
"""

import re
from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import HTMLResponse, Response

from broker.tracker.state import Phase
from broker.web.auth import Auth
from broker.web.charts import trend_charts
from broker.web.export import agencies_csv, agency_weeks_csv, threads_csv
from broker.web.queries import TITLES, Dashboard, Filters, Listing, Surface, ThreadKind
from broker.web.render import clock_time, e, error_page, page, when
from broker.web.tables import (
    agency_chart,
    agency_table,
    filter_form,
    thread_facts,
    thread_table,
    timeline_table,
    views_table,
)
from broker.web.users import Role, User
from schemas.ids import AGENCY_ID_PATTERN, UUID4_PATTERN
from schemas.kinds import Urgency

PAGE_SIZE = 200
_AGENCY = re.compile(AGENCY_ID_PATTERN)
E = TypeVar("E", bound=StrEnum)


def page_filters(agency: str = "", kind: str = "", urgency: str = "", state: str = "") -> Filters:
    """The filters of a page request; the form sends "" for "any". Raises HTTPException 422."""
    if agency and not _AGENCY.fullmatch(agency):
        raise HTTPException(422, "agency must be an agency id like hospital-east")
    return Filters(
        agency=agency or None,
        kind=_choice(ThreadKind, kind, "kind"),
        urgency=_choice(Urgency, urgency, "urgency"),
        state=_choice(Phase, state, "state"),
    )


def pages_router(dash: Dashboard, auth: Auth) -> APIRouter:
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
            path, query = f"/{listing.value}", _query(filters, limit, offset)
            more = ""
            if len(data.items) == limit:
                later = _query(filters, limit, offset + limit)
                more = f'<p><a href="{e(path)}?{e(later)}">Next {limit}</a></p>'
            body = (
                f"<h1>{e(TITLES[listing])}</h1>"
                + filter_form(path, filters, f"/export/{listing.value}.csv")
                + '<p class="muted">Updates every 2 seconds without reloading; last update '
                f"<span data-updated>{e(clock_time(data.now))}</span>.</p>"
                f'<div id="live" data-live="/fragments/{e(listing.value)}?{e(query)}">'
                f"{thread_table(data.items, listing, data.now, dash.names)}</div>{more}"
            )
            return HTMLResponse(page(TITLES[listing], body, user=user, active=path))

        return endpoint

    def fragment(listing: Listing) -> Callable[..., Awaitable[HTMLResponse]]:
        async def endpoint(
            user: PageUser, filters: Filtered, limit: Limit = PAGE_SIZE, offset: Offset = 0
        ) -> HTMLResponse:
            data = await dash.threads(
                user, listing, filters, limit=limit, offset=offset, surface=Surface.FRAGMENT
            )
            stamp = {"X-Updated-At": clock_time(data.now)}
            table = thread_table(data.items, listing, data.now, dash.names)
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
        if item is None:
            detail = "No such thread, or not one your agency is a party to."
            return HTMLResponse(error_page("Thread not found", detail, user=user), 404)
        body = (
            f"<h1>Thread {e(thread_id)}</h1>{thread_facts(item, dash.now(), dash.names)}"
            f"<h2>Timeline</h2>{timeline_table(await dash.timeline(thread_id), dash.names)}"
        )
        if user.role is Role.COORDINATOR:
            body += f"<h2>Viewed by</h2>{views_table(await dash.views(thread_id))}"
        return HTMLResponse(page(f"Thread {thread_id[:8]}", body, user=user))

    @router.get("/agencies")
    async def agencies_page(user: PageUser, filters: Filtered) -> HTMLResponse:
        figures = await dash.agencies(user, filters, surface=Surface.PAGE)
        weeks = await dash.agency_weeks(user, filters, surface=Surface.PAGE)
        query = filters.query()
        weekly = "/export/agency-weeks.csv" + (f"?{query}" if query else "")
        body = (
            "<h1>Agencies</h1>"
            + filter_form("/agencies", filters, "/export/agencies.csv")
            + "<h2>Now</h2>"
            + f"{agency_chart(figures, dash.names)}{agency_table(figures, dash.names)}"
            + "<h2>Per week, over the last year</h2>"
            + '<p class="muted">Referrals and transfers by the week they were sent (Monday to '
            "Sunday, UTC), per receiving agency: how many, how many passed their receipt or "
            "answer deadline unmet, and the median time to receipt and to answer. "
            f'<a href="{e(weekly)}" download>Export these figures as CSV</a>.</p>'
            + trend_charts(weeks)
        )
        return HTMLResponse(page("Agencies", body, user=user, active="/agencies"))

    @router.get("/export/agencies.csv")
    async def agencies_export(user: ApiUser, filters: Filtered) -> Response:
        figures = await dash.agencies(user, filters, surface=Surface.EXPORT)
        return _csv(agencies_csv(figures), "agencies", dash.now())

    @router.get("/export/agency-weeks.csv")
    async def agency_weeks_export(user: ApiUser, filters: Filtered) -> Response:
        weeks = await dash.agency_weeks(user, filters, surface=Surface.EXPORT)
        return _csv(agency_weeks_csv(weeks), "agency-weeks", dash.now())

    return router


def _choice(enum: type[E], value: str, name: str) -> E | None:
    if not value:
        return None
    try:
        return enum(value)
    except ValueError as error:
        raise HTTPException(422, f"unknown {name}") from error


def _query(filters: Filters, limit: int, offset: int) -> str:
    extra = [f"limit={limit}"] + ([f"offset={offset}"] if offset else [])
    return "&".join(part for part in (filters.query(), *extra) if part)


def _csv(text: str, name: str, now: int) -> Response:
    stamp = when(now).replace(" UTC", "Z").replace(" ", "T").replace(":", "")
    headers = {"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'}
    return Response(text, media_type="text/csv; charset=utf-8", headers=headers)
