"""The coordinator dashboard's FastAPI app: pages, JSON API, /metrics and /healthz.

The caller composes it (tracker service, tests); nothing here starts, connects or reads the
environment. OpenAPI is served to signed-in users only, at /api/v1/openapi.json.
"""

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from broker.http_edge import harden
from broker.look import N_, Reader
from broker.look.signin import PLEASE_SIGN_IN, visitor
from broker.look.static_routes import static_router
from broker.people.sessions import Sessions, SessionSigner
from broker.people.throttle import SignInThrottle
from broker.tracker.ports import TrackerStore
from broker.web.api import api_router
from broker.web.audit import audit_router
from broker.web.auth import Auth, Throttled, Unauthenticated, login_router
from broker.web.metrics import ops_router
from broker.web.names import AgencyNames, no_names
from broker.web.pages import PAGE_DETAILS, pages_router
from broker.web.queries import Dashboard
from broker.web.screens import (
    ERROR_TITLE,
    OTHER_DETAIL,
    STATUS_DETAILS,
    Screens,
    reader_of,
)
from broker.web.signin import SignIn
from broker.web.users import User, session_print
from schemas.field_errors import field_errors

BAD_REQUEST, CHECK_FIELDS = N_("Bad request"), N_("Check: %(fields)s.")
SESSION_TTL_SECONDS = 8 * 3600  # one working day; then sign in again
_MACHINE_PREFIXES = ("/api/", "/metrics", "/export/")
MAX_REQUEST_BYTES = 16 * 1024
"""The only body the dashboard reads is the sign-in form (a few hundred bytes)."""
# Not "no-referrer": with it, browsers send `Origin: null` on our own form posts, and a
# browser without Sec-Fetch-Site could not sign in. "same-origin" sends none off the site.
_REFERRER_POLICY = "same-origin"


def create_tracker_app(
    store: TrackerStore,
    users: Mapping[str, User],
    *,
    session_secret: bytes,
    clock: Callable[[], float],
    session_ttl_seconds: int = SESSION_TTL_SECONDS,
    secure_cookie: bool = True,
    consumer_alive: Callable[[], bool] = lambda: True,
    metrics_token: str | None = None,
    throttle: SignInThrottle | None = None,
    agency_names: AgencyNames = no_names,
) -> FastAPI:
    """The dashboard over `store`; `clock` gives Unix seconds (tests pass their own).

    Set `secure_cookie=False` only when served over plain HTTP on a trusted host (tests).
    `consumer_alive` tells /healthz whether the tracker's tap consumer is subscribed;
    `metrics_token` is the bearer token /metrics takes (without one it is not served).
    `throttle` slows repeated failed sign-ins (default: SignInThrottle's own settings).
    Sessions, the sign-in log and view records are kept in `store`. `agency_names` names
    agencies from the verified directory in force (`broker.web.names.directory_names`);
    without it, pages show agency ids alone.
    Raises broker.people.sessions.SessionSecretError when `session_secret` is shorter than 32 bytes.
    """
    dash = Dashboard(store, clock, agency_names)
    sessions = Sessions(
        store, SessionSigner(session_secret), session_ttl_seconds, held=session_print
    )
    sign_in = SignIn(users, store, throttle or SignInThrottle(), clock)
    auth = Auth(users, sessions, sign_in, clock, secure_cookie=secure_cookie)
    screens = Screens(agency_names)
    app = FastAPI(
        title="Caselink coordinator dashboard",
        description="Unanswered, overdue, declined and stuck threads: ids, agencies, kinds, "
        "urgencies, phases and times only, never case content.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    _install_handlers(app, auth, screens)
    app.include_router(static_router())

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    async def openapi(_: Annotated[User, Depends(auth.api_user)]) -> dict[str, Any]:
        return app.openapi()

    app.include_router(login_router(auth, screens))
    app.include_router(ops_router(dash, consumer_alive, metrics_token))
    app.include_router(api_router(dash, auth))
    app.include_router(audit_router(store, auth))
    app.include_router(pages_router(dash, auth, screens))
    # Last, so outermost: sizes capped and security headers set on every answer.
    harden(app, max_body_bytes=MAX_REQUEST_BYTES, referrer_policy=_REFERRER_POLICY)
    return app


def _machine(request: Request) -> bool:
    return request.url.path.startswith(_MACHINE_PREFIXES)


async def _reader(request: Request, auth: Auth) -> Reader:
    """Who an error page is for: the signed-in user, or a visitor in their browser's language."""
    try:
        return reader_of(await auth.page_user(request))
    except Unauthenticated:
        return visitor(request)


def _install_handlers(app: FastAPI, auth: Auth, screens: Screens) -> None:
    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, error: Unauthenticated) -> Response:
        if error.api or _machine(request):
            headers = {"WWW-Authenticate": 'Basic realm="caselink", charset="UTF-8"'}
            return JSONResponse({"detail": "authentication required"}, 401, headers=headers)
        # A 401 must name a scheme; "Session" is not one browsers prompt for, unlike Basic.
        page = screens.login(visitor(request), error.next_path, message=PLEASE_SIGN_IN)
        headers = {"WWW-Authenticate": 'Session realm="caselink"'}
        return HTMLResponse(page, 401, headers=headers)

    @app.exception_handler(Throttled)
    async def throttled(request: Request, error: Throttled) -> Response:
        # Only HTTP Basic raises this, so the answer is the API's JSON.
        headers = {"Retry-After": str(error.retry_after)}
        return JSONResponse({"detail": "too many failed sign-ins"}, 429, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, error: RequestValidationError) -> Response:
        # Values a caller sent are not echoed back: name the fields only.
        fields = field_errors(error.errors())
        if _machine(request):
            return JSONResponse({"detail": [x.as_json() for x in fields]}, 422)
        names = ", ".join(str(x.loc[-1]) for x in fields)
        reader = await _reader(request, auth)
        page = screens.error(reader, BAD_REQUEST, CHECK_FIELDS, {"fields": names})
        return HTMLResponse(page, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if _machine(request):
            return JSONResponse({"detail": error.detail}, error.status_code, headers=error.headers)
        # Our own details are English messages; anything else is said by its status alone.
        detail = error.detail if error.detail in PAGE_DETAILS else None
        detail = detail or STATUS_DETAILS.get(error.status_code, OTHER_DETAIL)
        reader = await _reader(request, auth)
        page = screens.error(reader, ERROR_TITLE, detail, {"code": error.status_code})
        return HTMLResponse(page, error.status_code, headers=error.headers)
