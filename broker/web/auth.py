"""Who is asking: the session cookie (pages and API) or HTTP Basic (API only); login, logout.

No route but /login, /healthz and /static answers anonymously. A page answers 401 with the
login form; the API answers 401 with `WWW-Authenticate: Basic`. Sign-ins by form and by
Basic go through one throttled, logged check (`broker.web.signin`); too soon after failures
they answer 429 with Retry-After. Logging out ends the session on the server.
"""

import base64
import binascii
from collections.abc import Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from broker.http_edge.client import client_address
from broker.http_edge.forms import read_form, safe_next, same_origin
from broker.look.signin import CROSS_SITE, MALFORMED, WRONG_PASSWORD, visitor
from broker.people.sessions import Sessions
from broker.tracker.access import SignInMethod
from broker.web.screens import Screens
from broker.web.signin import SignIn
from broker.web.users import User

COOKIE = "caselink_session"


class Unauthenticated(Exception):
    """Raised by a route dependency when nobody valid is signed in; the app answers 401."""

    def __init__(self, *, api: bool, next_path: str = "/") -> None:
        super().__init__("authentication required")
        self.api, self.next_path = api, next_path


class Throttled(Exception):
    """Raised when HTTP Basic credentials come too soon after failures; the app answers 429."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed sign-ins")
        self.retry_after = retry_after


class Auth:
    """Who is asking: a live session (its cookie) or, for the API, HTTP Basic credentials."""

    def __init__(
        self,
        users: Mapping[str, User],
        sessions: Sessions[User],
        sign_in: SignIn,
        clock: Callable[[], float],
        *,
        secure_cookie: bool,
    ) -> None:
        self.users, self.sessions, self.sign_in, self.clock = users, sessions, sign_in, clock
        self.secure_cookie = secure_cookie

    async def page_user(self, request: Request) -> User:
        """The signed-in user of a page request; raises Unauthenticated (401 + login form)."""
        user = await self._from_cookie(request)
        if user is None:
            raise Unauthenticated(api=False, next_path=_local_path(request))
        return user

    async def api_user(self, request: Request) -> User:
        """The user of an API request, by cookie or HTTP Basic; raises Unauthenticated, or
        Throttled when Basic credentials come too soon after failures."""
        user = await self._from_cookie(request) or await self._from_basic(request)
        if user is None:
            raise Unauthenticated(api=True)
        return user

    async def _from_cookie(self, request: Request) -> User | None:
        token = request.cookies.get(COOKIE)
        return None if token is None else await self.sessions.user(token, self.users, self.clock())

    async def _from_basic(self, request: Request) -> User | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic" or len(encoded) > 1024:
            return None
        try:
            name, colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        if not colon:
            return None
        attempt = await self.sign_in.attempt(
            name, password, client_address(request.scope), SignInMethod.BASIC
        )
        if attempt.retry_after:
            raise Throttled(attempt.retry_after)
        return attempt.user


def login_router(auth: Auth, screens: Screens) -> APIRouter:
    """GET/POST /login and POST /logout; the sign-in form is in the visitor's language."""
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return HTMLResponse(screens.login(visitor(request), safe_next(next)))

    @router.post("/login", response_model=None)
    async def login(request: Request) -> Response:
        reader = visitor(request)
        if not same_origin(request):
            return HTMLResponse(screens.login(reader, "/", message=CROSS_SITE), 403)
        form = await read_form(request)
        if form is None:
            return HTMLResponse(screens.login(reader, "/", message=MALFORMED), 400)
        target = safe_next(form.get("next", "/"))
        name, password = form.get("name", ""), form.get("password", "")
        attempt = await auth.sign_in.attempt(
            name, password, client_address(request.scope), SignInMethod.FORM
        )
        if attempt.retry_after:
            page = screens.login(reader, target, retry_after=attempt.retry_after)
            headers = {"Retry-After": str(attempt.retry_after)}
            return HTMLResponse(page, 429, headers=headers)
        if attempt.user is None:
            page = screens.login(reader, target, message=WRONG_PASSWORD)
            return HTMLResponse(page, 401)
        previous = request.cookies.get(COOKIE)
        if previous is not None:
            # A browser holds one session: the one it had before (whoever's) ends here.
            await auth.sessions.end(previous, auth.clock())
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            COOKIE,
            await auth.sessions.start(attempt.user, auth.clock()),
            max_age=auth.sessions.ttl_seconds,
            httponly=True,
            secure=auth.secure_cookie,
            samesite="strict",
            path="/",
        )
        return response

    @router.post("/logout")
    async def logout(request: Request) -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        if same_origin(request):
            token = request.cookies.get(COOKIE)
            if token is not None:
                # Ended on the server: a copy of the cookie stops working too.
                await auth.sessions.end(token, auth.clock())
            response.delete_cookie(
                COOKIE, path="/", httponly=True, samesite="strict", secure=auth.secure_cookie
            )
        return response

    return router


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
