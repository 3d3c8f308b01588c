"""Authentication as a pure ASGI middleware: decided from the headers, before the body is read.

FastAPI reads and parses a request's body before it runs a route's dependencies, so a
dependency that authenticates comes too late: an anonymous caller could make the gateway
read, buffer and validate what it sends. This middleware answers 401 (or 429) without ever
calling `receive`, and hands the routes the user in the ASGI scope (`SCOPE_USER`).

Three ways in: HTTP Basic (people), a Bearer token (systems), and, where the inbox pages are
served, their session cookie (people signed in by the form; `broker.gateway.pages_port`),
on the pages' own paths only: a session never opens the JSON API, so no page of another
site can drive the API with a browser's cookie. A cookie-signed request that may change
something (any method but GET and HEAD) must come from a page of this site (Sec-Fetch-Site
or Origin), checked here before the body is read. An Authorization header, when sent,
decides alone. Without a user, a page is answered with
a redirect to the sign-in form (303, `next` the page asked for), anything else with 401.

Only the exact `open_paths` (health, metrics, the OpenAPI document, the sign-in and sign-out
forms and the static files) pass without a user.
"""

import json
from collections.abc import Collection
from urllib.parse import quote

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from broker.errors import CaselinkError
from broker.gateway.pages_port import LOGIN_PATH, SessionDoor
from broker.gateway.signin import NO_CREDENTIALS, Refused, SignIn
from broker.gateway.users import GatewayUser
from broker.http_edge.client import client_address
from broker.http_edge.forms import same_origin_headers
from broker.logs import get_logger

log = get_logger(__name__)

MAX_NEXT = 1024  # characters of a page's path and query carried to the sign-in form

SCOPE_USER = "caselink.user"
"""The ASGI scope key under which the signed-in GatewayUser reaches the routes."""

_CHALLENGES = [
    (b"www-authenticate", b'Basic realm="caselink", charset="UTF-8"'),
    (b"www-authenticate", b'Bearer realm="caselink"'),
]
_UNAVAILABLE = Refused(503, "sign-in unavailable, try again later")
_CROSS_SITE = Refused(403, "cross-site request refused")
_SAFE_METHODS = ("GET", "HEAD")


class AuthenticationMiddleware:
    """Resolves the caller of every HTTP request, except to `open_paths`, from its headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        sign_in: SignIn,
        open_paths: Collection[str],
        door: SessionDoor | None = None,
    ) -> None:
        self.app, self.sign_in, self.open_paths = app, sign_in, frozenset(open_paths)
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or (
            scope["type"] == "http" and scope["path"] in self.open_paths
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # the API serves no websockets
            await send({"type": "websocket.close", "code": 1008})
            return
        authorization = [v for k, v in scope["headers"] if k.lower() == b"authorization"]
        # The peer's address as the server saw it; a forwarded-for header is anyone's to write.
        address = client_address(scope)
        try:
            if authorization or self.door is None or not self.door.serves(scope["path"]):
                verdict = await self.sign_in.authenticate(authorization, address)
            elif scope["method"] not in _SAFE_METHODS and not _same_origin(scope):
                verdict = _CROSS_SITE
            else:
                verdict = await _by_session(scope, self.door)
        except CaselinkError as error:
            # No sign-in without its record: the sign-in log (or the sessions) could not be
            # read or written.
            log.error("sign-in not recorded", reason=error.reason)
            await _answer(send, _UNAVAILABLE)
            return
        if isinstance(verdict, Refused):
            if self.door is not None and verdict.status == 401 and self.door.is_page(scope["path"]):
                await _to_sign_in(send, scope)
                return
            await _answer(send, verdict)
            return
        await self.app({**scope, SCOPE_USER: verdict}, receive, send)


def _same_origin(scope: Scope) -> bool:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return same_origin_headers(headers)


async def _by_session(scope: Scope, door: SessionDoor) -> GatewayUser | Refused:
    cookies = [v for k, v in scope["headers"] if k.lower() == b"cookie"]
    token = None
    if cookies:
        # One Cookie header from browsers; HTTP/2 may split it, joined back with "; ".
        found = cookie_parser(b"; ".join(cookies).decode("latin-1")).get(door.cookie)
        token = found or None
    user = None if token is None else await door.user(token)
    return NO_CREDENTIALS if user is None else user


async def _to_sign_in(send: Send, scope: Scope) -> None:
    """303 to the sign-in form; after it, back to the page asked for (GET only: a form
    posted without a session is not posted again)."""
    target = LOGIN_PATH
    if scope["method"] in ("GET", "HEAD"):
        query = scope.get("query_string", b"").decode("latin-1")
        asked = scope["path"] + (f"?{query}" if query else "")
        if len(asked) <= MAX_NEXT:
            target = f"{LOGIN_PATH}?next={quote(asked, safe='')}"
    headers = [(b"location", target.encode("latin-1")), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _answer(send: Send, refused: Refused) -> None:
    """The refusal as JSON; the request body is left unread."""
    body = json.dumps({"detail": refused.detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if refused.status == 401:
        headers += _CHALLENGES
    if refused.retry_after_s is not None:
        headers.append((b"retry-after", str(refused.retry_after_s).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
