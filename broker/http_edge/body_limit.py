"""Refuse a request body over a cap with 413, before the app has buffered it.

A declared Content-Length over the cap is refused before the app runs. Otherwise (a
chunked body, or a Content-Length that lies) the bytes are counted as the app receives
them, and the first chunk past the cap ends the request: the app's `receive` raises, and
whatever the app answers to that is replaced by the 413. The body is never read here: a
request within the cap reaches the app exactly as it came.

Starlette's own RequestBodyLimitMiddleware is not used: it lets the app run (route,
dependencies, authentication) on a declared length already over the cap, and its 413 goes
through each app's error pages (HTML on the dashboard's).
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from broker.http_edge.refusal import refuse


class BodyTooLarge(Exception):
    """Raised by the wrapped `receive` once the body passes the cap."""


class BodyLimit:
    """ASGI middleware: request bodies of at most `max_bytes`, else 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"request body exceeds {self.max_bytes} bytes"
        if _declared_length(scope) > self.max_bytes:
            await refuse(send, 413, detail)
            return
        counter = _Counter(receive, send, self.max_bytes)
        try:
            await self.app(scope, counter.receive, counter.send)
        except Exception:
            # The app may turn BodyTooLarge into anything (FastAPI: a 400); ours wins.
            if not counter.exceeded:
                raise
        if counter.exceeded:
            if counter.started:  # too late for a 413: the server drops the connection
                raise BodyTooLarge(detail)
            await refuse(send, 413, detail)


class _Counter:
    def __init__(self, receive: Receive, send: Send, max_bytes: int) -> None:
        self._receive, self._send, self._max = receive, send, max_bytes
        self.seen = 0
        self.exceeded = self.started = False

    async def receive(self) -> Message:
        if self.exceeded:
            raise BodyTooLarge
        message = await self._receive()
        if message["type"] == "http.request":
            self.seen += len(message.get("body", b""))
            if self.seen > self._max:
                self.exceeded = True
                raise BodyTooLarge
        return message

    async def send(self, message: Message) -> None:
        if self.exceeded:
            return  # the app's answer to a body it could not read; the 413 replaces it
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _declared_length(scope: Scope) -> int:
    # The largest Content-Length declared; one that is not a number is the server's (h11
    # refuses it) or the app's business, and counts as 0 here.
    declared = 0
    for name, value in scope["headers"]:
        if name == b"content-length" and value.strip().isdigit():
            declared = max(declared, int(value))
    return declared
