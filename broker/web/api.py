"""The JSON API under /api/v1: the dashboard's lists, threads and figures (OpenAPI documented).

Cookie or HTTP Basic. A supervisor sees only threads involving their agency; asking for any
other thread answers 404, exactly as for a thread that does not exist.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query

from broker.tracker.state import Phase
from broker.web.auth import Auth
from broker.web.models import (
    AgencyOut,
    AgencyWeekOut,
    ThreadList,
    ThreadOut,
    TimelineOut,
    ViewOut,
)
from broker.web.queries import TITLES, Dashboard, Filters, Listing, Surface, ThreadKind
from broker.web.users import Role, User
from schemas.ids import AGENCY_ID_PATTERN, UUID4_PATTERN
from schemas.kinds import Urgency

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such thread, or not one this user may see"}
}


def api_filters(
    agency: Annotated[
        str | None,
        Query(pattern=AGENCY_ID_PATTERN, max_length=32, description="a party to the thread"),
    ] = None,
    kind: ThreadKind | None = None,
    urgency: Urgency | None = None,
    state: Annotated[Phase | None, Query(description="the thread's phase")] = None,
) -> Filters:
    """The filters of an API request (unknown values answer 422)."""
    return Filters(agency=agency, kind=kind, urgency=urgency, state=state)


def api_router(dash: Dashboard, auth: Auth) -> APIRouter:
    """Every /api/v1 route; each needs a signed-in user."""
    router = APIRouter(prefix="/api/v1", tags=["dashboard"])
    ApiUser = Annotated[User, Depends(auth.api_user)]
    ThreadId = Annotated[str, Path(pattern=UUID4_PATTERN, max_length=36)]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Offset = Annotated[int, Query(ge=0)]
    Filtered = Annotated[Filters, Depends(api_filters)]

    def lister(listing: Listing) -> Callable[..., Awaitable[ThreadList]]:
        # One route per list, so OpenAPI names and documents each.
        async def endpoint(
            user: ApiUser, filters: Filtered, limit: Limit = 100, offset: Offset = 0
        ) -> ThreadList:
            return await dash.threads(
                user, listing, filters, limit=limit, offset=offset, surface=Surface.API
            )

        endpoint.__doc__ = f"{TITLES[listing]}, as the dashboard lists them."
        return endpoint

    for listing in Listing:
        router.get(f"/{listing.value}", name=f"list_{listing.name.lower()}")(lister(listing))

    async def shown(user: User, thread_id: str, subject: str) -> ThreadOut:
        item = await dash.thread(user, thread_id, surface=Surface.API, subject=subject)
        if item is None:
            raise HTTPException(404, "no such thread")
        return item

    @router.get("/threads/{thread_id}", responses=_NOT_FOUND)
    async def thread(user: ApiUser, thread_id: ThreadId) -> ThreadOut:
        """One thread; the view is recorded in the audit trail."""
        return await shown(user, thread_id, "thread")

    @router.get("/threads/{thread_id}/timeline", responses=_NOT_FOUND)
    async def timeline(user: ApiUser, thread_id: ThreadId) -> list[TimelineOut]:
        """A thread's events in issued order; the view is recorded in the audit trail."""
        await shown(user, thread_id, "timeline")
        return await dash.timeline(thread_id)

    @router.get(
        "/threads/{thread_id}/views",
        responses={**_NOT_FOUND, 403: {"description": "not a coordinator"}},
    )
    async def views(user: ApiUser, thread_id: ThreadId) -> list[ViewOut]:
        """Who looked at a thread and when (coordinators only)."""
        if user.role is not Role.COORDINATOR:
            raise HTTPException(403, "the audit trail is for coordinators")
        if not await dash.can_see(user, thread_id):
            raise HTTPException(404, "no such thread")
        return await dash.views(thread_id)

    @router.get("/agencies")
    async def agencies(user: ApiUser, filters: Filtered) -> list[AgencyOut]:
        """Per agency as a recipient: open, overdue, median time to receipt and to answer."""
        return await dash.agencies(user, filters, surface=Surface.API)

    @router.get("/agencies/weeks")
    async def agency_weeks(user: ApiUser, filters: Filtered) -> list[AgencyWeekOut]:
        """Per receiving agency, every week (Monday, UTC) of the last year, the current one
        last: referrals and transfers sent that week, those overdue at their receipt or
        answer deadline, median time to receipt and to answer. Empty weeks are zeros."""
        return await dash.agency_weeks(user, filters, surface=Surface.API)

    return router
