"""The coordinators' audit under /api/v1/audit: the sign-in log and the view records (JSON).

Coordinators only: the sign-in log names people and addresses, and the view records say
who was shown what. Reading them leaves no view record: they hold no thread data beyond
the ids a coordinator may see anyway.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query

from broker.tracker.ports import TrackerStore
from broker.web.auth import Auth
from broker.web.models import SignInOut, ViewRecordOut
from broker.web.users import Role, User

_FORBIDDEN: dict[int | str, dict[str, Any]] = {403: {"description": "not a coordinator"}}


def audit_router(store: TrackerStore, auth: Auth) -> APIRouter:
    """GET /api/v1/audit/sign-ins and /api/v1/audit/views, newest first, paged."""
    router = APIRouter(prefix="/api/v1/audit", tags=["audit"])

    async def coordinator(user: Annotated[User, Depends(auth.api_user)]) -> User:
        if user.role is not Role.COORDINATOR:
            raise HTTPException(403, "the audit is for coordinators")
        return user

    Coordinator = Annotated[User, Depends(coordinator)]
    Limit = Annotated[int, Query(ge=1, le=1000)]
    Offset = Annotated[int, Query(ge=0, le=10_000_000)]

    @router.get("/sign-ins", responses=_FORBIDDEN)
    async def sign_ins(_: Coordinator, limit: Limit = 100, offset: Offset = 0) -> list[SignInOut]:
        """Checked sign-ins by form and HTTP Basic: name as typed, address, time, outcome."""
        return [SignInOut.of(r) for r in await store.sign_ins(limit=limit, offset=offset)]

    @router.get("/views", responses=_FORBIDDEN)
    async def views(_: Coordinator, limit: Limit = 100, offset: Offset = 0) -> list[ViewRecordOut]:
        """Every showing of thread data: who, when, which view, which thread or filter."""
        return [ViewRecordOut.of(r) for r in await store.view_log(limit=limit, offset=offset)]

    return router
