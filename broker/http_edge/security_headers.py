"""Security headers on every response: a CSP without inline code, no sniffing, no framing,
no caching, no referrer leaving the site, and HSTS when the request came over TLS.

A header the app set itself is left as it is.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    # Nothing inline and nothing from elsewhere: a markup injection that slipped past
    # escaping could not run a script, load one, post a form away or frame the page.
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
"""A year, for the host that served it and every name under it (never its parent domain):
case data is not to be reached over plain HTTP at any of them. Browsers ignore the port, so
every service on the host's name must then serve HTTPS (docs/security.md)."""


class SecurityHeaders:
    """ASGI middleware adding the security headers to every HTTP response.

    HSTS is added when the request's scheme is https: uvicorn with TLS, or behind a
    TLS-terminating proxy that uvicorn trusts (`--forwarded-allow-ips`).
    """

    def __init__(self, app: ASGIApp, *, referrer_policy: str = "no-referrer") -> None:
        self.app = app
        self.headers: list[tuple[bytes, bytes]] = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", referrer_policy.encode()),
            # Thread ids, agency names and bodies are for neither shared caches nor disk.
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        wanted = self.headers
        if scope.get("scheme") == "https":
            wanted = [*wanted, (b"strict-transport-security", HSTS.encode())]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in headers}
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
