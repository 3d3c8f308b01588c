"""The client's address, as both apps record it (the throttle, the sign-in log)."""

from collections.abc import Mapping
from typing import Any

MAX_ADDRESS = 64
"""Characters kept of a client address (an IPv6 address has at most 45)."""


def client_address(scope: Mapping[str, Any]) -> str:
    """The peer's address as the server saw it, from an ASGI scope; "unknown" without one.

    No forwarding header is read here. uvicorn puts X-Forwarded-For's address in the scope
    only when the connection comes from a trusted proxy (FORWARDED_ALLOW_IPS, by default
    127.0.0.1 and ::1: the TLS proxy in front of an app).
    """
    client = scope.get("client")
    return str(client[0])[:MAX_ADDRESS] if client else "unknown"
