"""The police system's side of the demo: it signs its notifications, and it takes Caselink's
signed callbacks on 127.0.0.1, checking each signature before it believes a word.

Checked with the `standardwebhooks` package, as a police system's developers would.
"""

import asyncio
import json
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

import uvicorn
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.demo.processes import ServiceDidNotStart


def signed_headers(secret: str, webhook_id: str, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of `body`, signed now with `secret`."""
    now = datetime.now(UTC)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body.decode()),
    }


class CallbackReceiver:
    """An HTTP server taking signed callbacks at /callbacks; `events` are the verified ones,
    `forged` counts those whose signature did not verify (answered 401)."""

    def __init__(self, secret: str, port: int) -> None:
        self._webhook = Webhook(secret)
        self.events: list[dict[str, Any]] = []
        self.forged = 0
        self._changed = asyncio.Event()
        app = Starlette(routes=[Route("/callbacks", self._callback, methods=["POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._port = port
        self._task: asyncio.Task[None] | None = None

    async def _callback(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = self._webhook.verify(body, dict(request.headers))
        except WebhookVerificationError:
            self.forged += 1
            return Response(status_code=401)
        self.events.append(json.loads(body) if not isinstance(event, dict) else event)
        self._changed.set()
        return Response(status_code=204)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():  # it could not serve (the port taken, say): one line
                raise ServiceDidNotStart(
                    f"the police system's stand-in could not serve on port {self._port}"
                )
            await asyncio.sleep(0.05)

    async def wait_for(self, event_type: str, thread_id: str, timeout_s: float) -> bool:
        """Whether a verified callback of `event_type` about `thread_id` came in time."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            if any(
                e.get("type") == event_type and e.get("data", {}).get("thread_id") == thread_id
                for e in self.events
            ):
                return True
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return False
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
