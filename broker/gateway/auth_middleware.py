"""Authentication as a pure ASGI middleware: decided from the headers, before the body is read.

FastAPI reads and parses a request's body before it runs a route's dependencies, so a
dependency that authenticates comes too late: an anonymous caller could make the gateway
read, buffer and validate what it sends. This middleware answers 401 (or 429) without ever
calling `receive`, and hands the routes the user in the ASGI scope (`SCOPE_USER`).

Only the exact `open_paths` (health, metrics, the OpenAPI document) pass without a user.
"""

import json
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from broker.errors import CaselinkError
from broker.gateway.signin import Refused, SignIn
from broker.logs import get_logger

log = get_logger(__name__)

MAX_ADDRESS = 64  # characters kept of a client address (an IPv6 address has at most 45)

SCOPE_USER = "caselink.user"
"""The ASGI scope key under which the signed-in GatewayUser reaches the routes."""

_CHALLENGES = [
    (b"www-authenticate", b'Basic realm="caselink", charset="UTF-8"'),
    (b"www-authenticate", b'Bearer realm="caselink"'),
]


class AuthenticationMiddleware:
    """Resolves the caller of every HTTP request, except to `open_paths`, from its headers."""

    def __init__(self, app: ASGIApp, *, sign_in: SignIn, open_paths: Collection[str]) -> None:
        self.app, self.sign_in, self.open_paths = app, sign_in, frozenset(open_paths)

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
        client = scope.get("client")
        address = str(client[0])[:MAX_ADDRESS] if client else "unknown"
        try:
            verdict = await self.sign_in.authenticate(authorization, address)
        except CaselinkError as error:
            # No sign-in without its record: the sign-in log could not be written.
            log.error("sign-in not recorded", reason=error.reason)
            await _answer(send, Refused(503, "sign-in unavailable, try again later"))
            return
        if isinstance(verdict, Refused):
            await _answer(send, verdict)
            return
        await self.app({**scope, SCOPE_USER: verdict}, receive, send)


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
