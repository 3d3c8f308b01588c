"""Put the edge around an app, in the one order that works."""

from starlette.applications import Starlette

from broker.http_edge.body_limit import BodyLimit
from broker.http_edge.header_limit import MAX_COOKIE_BYTES, MAX_HEADER_BYTES, HeaderLimit
from broker.http_edge.security_headers import SecurityHeaders


def harden(
    app: Starlette,
    *,
    max_body_bytes: int,
    referrer_policy: str = "no-referrer",
    max_header_bytes: int = MAX_HEADER_BYTES,
    max_cookie_bytes: int = MAX_COOKIE_BYTES,
) -> None:
    """Add the size caps and security headers to `app`, outside its other middleware.

    Call it last while building the app: the middleware added last runs first. From the
    outside in: security headers (so the refusals below carry them too), header sizes
    (before anything parses a cookie), body size (before anything reads the body).
    """
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(HeaderLimit, max_bytes=max_header_bytes, max_cookie_bytes=max_cookie_bytes)
    app.add_middleware(SecurityHeaders, referrer_policy=referrer_policy)
