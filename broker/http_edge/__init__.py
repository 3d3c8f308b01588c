"""The HTTP edge both web apps share: size caps and security headers, as ASGI middleware.

Pure ASGI (scope, receive, send), so it runs before any framework code parses a header, a
cookie or a body: `harden` adds it to an app, outermost. Nothing here reads the
environment or knows the gateway or the dashboard.
"""

from broker.http_edge.body_limit import BodyLimit
from broker.http_edge.harden import harden
from broker.http_edge.header_limit import MAX_COOKIE_BYTES, MAX_HEADER_BYTES, HeaderLimit
from broker.http_edge.security_headers import CONTENT_SECURITY_POLICY, HSTS, SecurityHeaders

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "HSTS",
    "MAX_COOKIE_BYTES",
    "MAX_HEADER_BYTES",
    "BodyLimit",
    "HeaderLimit",
    "SecurityHeaders",
    "harden",
]
