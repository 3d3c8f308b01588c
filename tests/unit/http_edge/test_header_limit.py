"""The header caps: 431 before anything parses a cookie."""

import time

from fastapi import FastAPI, Request

from broker.http_edge import MAX_COOKIE_BYTES, MAX_HEADER_BYTES, HeaderLimit
from tests.unit.http_edge.asgi import call


def cookie_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def cookies(request: Request) -> dict[str, int]:
        return {"cookies": len(request.cookies)}

    return app


async def test_a_crafted_cookie_is_refused_without_being_parsed() -> None:
    crafted = b'a="' + b"\\" * 64 * 1024 + b'"'  # half a minute of CPU if parsed
    started = time.perf_counter()
    exchange = await call(
        HeaderLimit(cookie_app(), max_bytes=1024 * 1024),
        headers=[(b"cookie", crafted)],
        method="GET",
    )
    assert time.perf_counter() - started < 1
    assert exchange.status == 431
    assert exchange.json() == {"detail": f"cookies exceed {MAX_COOKIE_BYTES} bytes"}


async def test_cookie_headers_count_together() -> None:
    half = b"a=" + b"b" * (MAX_COOKIE_BYTES // 2)
    exchange = await call(
        HeaderLimit(cookie_app()), headers=[(b"cookie", half), (b"cookie", half)], method="GET"
    )
    assert exchange.status == 431


async def test_all_headers_together_are_capped() -> None:
    many = [(f"x-{i}".encode(), b"v" * 100) for i in range(MAX_HEADER_BYTES // 100)]
    exchange = await call(HeaderLimit(cookie_app()), headers=many, method="GET")
    assert exchange.status == 431
    assert exchange.json() == {"detail": f"request headers exceed {MAX_HEADER_BYTES} bytes"}


async def test_ordinary_headers_and_cookies_pass() -> None:
    headers = [(b"cookie", b"caselink_session=" + b"t" * 300), (b"user-agent", b"u" * 300)]
    exchange = await call(HeaderLimit(cookie_app()), headers=headers, method="GET")
    assert exchange.status == 200
    assert exchange.json() == {"cookies": 1}
