"""The one answer the edge gives itself: a status and one line of JSON, then close."""

import json

from starlette.types import Send


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer `status` with `{"detail": detail}`; the connection closes after it.

    Closing matters for 413: the refused body is still on its way, unread.
    """
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
