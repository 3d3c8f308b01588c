"""A pocket ASGI server for the edge middleware: one request, its body in chunks, the reply."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message


@dataclass
class Exchange:
    """What the app was given and what it answered."""

    chunks: Sequence[bytes] = ()
    receive_calls: int = 0
    sent: list[Message] = field(default_factory=list)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode(): v.decode() for k, v in self.sent[0]["headers"]}

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])

    def json(self) -> Any:
        return json.loads(self.body)


async def call(
    app: ASGIApp,
    *,
    chunks: Sequence[bytes] = (),
    headers: Sequence[tuple[bytes, bytes]] = (),
    method: str = "POST",
    scheme: str = "http",
) -> Exchange:
    """Run one request through `app`, counting how often the body was asked for."""
    exchange = Exchange(chunks=chunks)

    async def receive() -> Message:
        index = exchange.receive_calls
        exchange.receive_calls += 1
        if index < len(chunks):
            more = index + 1 < len(chunks)
            return {"type": "http.request", "body": chunks[index], "more_body": more}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        exchange.sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    return exchange
