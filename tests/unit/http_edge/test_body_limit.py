"""The body cap: refused up front on a declared length, counted on a streamed one, never read."""

import pytest
from fastapi import FastAPI, Request
from starlette.types import Message, Receive, Scope, Send

from broker.http_edge import BodyLimit
from broker.http_edge.body_limit import BodyTooLarge
from tests.unit.http_edge.asgi import call

CAP = 1000
CHUNK = b"x" * 300


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.post("/")
    async def echo(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


async def never_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("the app ran")


async def test_a_declared_length_over_the_cap_is_refused_before_the_app_runs() -> None:
    length = str(100 * 1024 * 1024).encode()
    exchange = await call(
        BodyLimit(never_called, max_bytes=CAP),
        chunks=[CHUNK],
        headers=[(b"content-length", length)],
    )
    assert exchange.status == 413
    assert exchange.receive_calls == 0  # not a byte of the body was read
    assert exchange.json() == {"detail": f"request body exceeds {CAP} bytes"}
    assert exchange.body.count(b"\n") == 0
    assert exchange.headers["content-type"] == "application/json"
    assert exchange.headers["connection"] == "close"


async def test_a_streamed_body_stops_at_the_first_chunk_past_the_cap() -> None:
    # Chunked, or a Content-Length that lies: FastAPI would turn the failed read into a
    # 400; the 413 replaces it, and the rest of the body is never asked for.
    exchange = await call(BodyLimit(echo_app(), max_bytes=CAP), chunks=[CHUNK] * 1000)
    assert exchange.status == 413
    assert exchange.receive_calls == 4  # 1,200 bytes seen, 298,800 never read
    assert len(exchange.sent) == 2


async def test_a_body_within_the_cap_reaches_the_app_as_it_came() -> None:
    exchange = await call(
        BodyLimit(echo_app(), max_bytes=CAP),
        chunks=[CHUNK, CHUNK, b"y" * 400],
        headers=[(b"content-length", b"1000"), (b"content-type", b"text/plain")],
    )
    assert exchange.status == 200
    assert exchange.json() == {"length": 1000}
    assert exchange.receive_calls == 3  # exactly what the app asked for: nothing read ahead


async def test_a_response_already_begun_cannot_become_a_413() -> None:
    async def streams_then_reads(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive())["type"] == "http.request":
            pass

    with pytest.raises(BodyTooLarge):  # the server drops the connection
        await call(BodyLimit(streams_then_reads, max_bytes=CAP), chunks=[CHUNK] * 10)


async def test_other_scopes_pass_through() -> None:
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {}

    async def ignore(message: Message) -> None:
        pass

    await BodyLimit(app, max_bytes=0)({"type": "lifespan"}, nothing, ignore)
    assert seen == ["lifespan"]
