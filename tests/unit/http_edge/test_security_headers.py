"""Security headers on every response; HSTS over TLS only; the app's own headers win."""

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from starlette.applications import Starlette

from broker.http_edge import CONTENT_SECURITY_POLICY, SecurityHeaders, harden
from tests.unit.http_edge.asgi import call


def plain_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def home() -> PlainTextResponse:
        return PlainTextResponse("hi", headers={"Cache-Control": "max-age=60"})

    return app


def test_the_policy_allows_no_inline_code_and_nothing_from_elsewhere() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


async def test_headers_are_added_and_the_apps_own_are_kept() -> None:
    exchange = await call(SecurityHeaders(plain_app()), method="GET")
    headers = exchange.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "max-age=60"  # set by the route, on purpose
    assert "strict-transport-security" not in headers


async def test_hsts_over_tls_only() -> None:
    exchange = await call(SecurityHeaders(plain_app()), method="GET", scheme="https")
    assert exchange.headers["strict-transport-security"] == ("max-age=31536000; includeSubDomains")


async def test_harden_puts_the_headers_on_the_edges_own_refusals() -> None:
    app = Starlette()
    harden(app, max_body_bytes=10, referrer_policy="same-origin")
    refused = await call(app, headers=[(b"content-length", b"11")])
    assert refused.status == 413
    assert refused.headers["cache-control"] == "no-store"
    assert refused.headers["referrer-policy"] == "same-origin"
    assert refused.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    too_big = await call(app, headers=[(b"cookie", b"c" * 5000)], method="GET")
    assert too_big.status == 431
    assert too_big.headers["x-content-type-options"] == "nosniff"
