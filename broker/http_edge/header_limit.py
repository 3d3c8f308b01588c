"""Refuse oversized request headers with 431, before any app code parses them.

Python 3.11's cookie unquoting (http.cookies._unquote, which Starlette's cookie parser
calls) is quadratic in the backslashes of a quoted value: 64 KiB of them cost half a
minute of CPU. So the Cookie header is capped well below that, and all headers together
too, whatever server runs the app (uvicorn's h11 stops a request head at 16 KiB; its
httptools protocol sets no limit).
"""

from starlette.types import ASGIApp, Receive, Scope, Send

from broker.http_edge.refusal import refuse

MAX_HEADER_BYTES = 8 * 1024
"""Names and values of all headers together; browsers send one to two KiB."""
MAX_COOKIE_BYTES = 4 * 1024
"""All Cookie headers together: the size RFC 6265 asks browsers to allow for one cookie;
the dashboard's own session cookie is under 300 bytes. Worst case about 0.1 s to parse."""


class HeaderLimit:
    """ASGI middleware: headers of at most `max_bytes`, cookies of at most
    `max_cookie_bytes`, else 431 Request Header Fields Too Large."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_HEADER_BYTES,
        max_cookie_bytes: int = MAX_COOKIE_BYTES,
    ) -> None:
        self.app, self.max_bytes, self.max_cookie_bytes = app, max_bytes, max_cookie_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            total = cookies = 0
            for name, value in scope["headers"]:
                total += len(name) + len(value)
                if name == b"cookie":
                    cookies += len(value)
            if cookies > self.max_cookie_bytes:
                await refuse(send, 431, f"cookies exceed {self.max_cookie_bytes} bytes")
                return
            if total > self.max_bytes:
                await refuse(send, 431, f"request headers exceed {self.max_bytes} bytes")
                return
        await self.app(scope, receive, send)
