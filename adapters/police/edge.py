"""The police adapter in its gateway: the webhook, the operators' view, the background work.

Routes:
- `POST /police/notifications`: self-authenticated (Standard Webhooks signature); the body
  is read here, at most `max_body_bytes`, and handed to `Intake` unparsed.
- `GET /police/callbacks?state=&limit=&offset=`: behind the gateway's sign-in, for
  supervisors (the audit permission): counts per state and the callbacks, ids only.
Background: the answer watcher (every `poll_s`) and the callback sender.
"""

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from adapters.police import problems
from adapters.police.answers import AnswerWatcher
from adapters.police.delivery import CallbackSender, Target
from adapters.police.intake import Intake
from adapters.police.schedule import STANDARD_SCHEDULE_S
from adapters.police.settings import PoliceSettings
from adapters.police.store import Callback, PoliceStore
from broker.background import stop_tasks
from broker.errors import CaselinkError
from broker.gateway.api import allowed
from broker.gateway.service import Gateway
from broker.gateway.users import GatewayUser, Permission
from broker.logs import RecurringFailure, get_logger

log = get_logger(__name__)

NOTIFICATIONS_PATH = "/police/notifications"
CALLBACKS_PATH = "/police/callbacks"
Supervisor = Annotated[GatewayUser, Depends(allowed(Permission.AUDIT))]


class PoliceAdapter:
    name = "police"

    def __init__(
        self,
        *,
        settings: PoliceSettings,
        gateway: Gateway,
        sender: GatewayUser,
        keys: Mapping[str, bytes],
        targets: Mapping[str, Target],
        clock: Callable[[], float] = time.time,
        schedule: Sequence[float] = STANDARD_SCHEDULE_S,
        transport: httpx.AsyncBaseTransport | None = None,
        supervisors: Mapping[str, str] | None = None,
    ) -> None:
        """`supervisors`: sign-in name (casefolded) -> display name, `supervisors_by_collar`."""
        self.settings = settings
        self.store = PoliceStore(settings.store_url)
        self._clock = clock
        self.intake = Intake(
            gateway=gateway,
            store=self.store,
            sender=sender,
            recipient=settings.recipient,
            keys=keys,
            tolerance_s=settings.tolerance_s,
            clock=clock,
            supervisors=supervisors,
        )
        self.watcher = AnswerWatcher(gateway=gateway, store=self.store, reader=sender, clock=clock)
        self.sender = CallbackSender(
            store=self.store,
            targets=targets,
            schedule=schedule,
            timeout_s=settings.callback_timeout_s,
            idle_s=settings.poll_s,
            clock=clock,
            transport=transport,
        )
        self._scan_failure = RecurringFailure(log, "police answer scan", clock=clock)
        self._tasks: list[asyncio.Task[None]] = []

    def self_authenticated_paths(self) -> Collection[str]:
        return [NOTIFICATIONS_PATH]

    def router(self) -> APIRouter:
        router = APIRouter(tags=["police"])
        limit = self.settings.max_body_bytes

        @router.post(NOTIFICATIONS_PATH, status_code=202, response_model=None)
        async def notifications(request: Request) -> Response:
            body = await _read_capped(request, limit)
            if body is None:
                return problems.too_large(limit).response()
            headers = {name: request.headers.get(name, "") for name in _SIGNED_HEADERS}
            answer = await self.intake.take(headers, body, request.headers.get("content-type", ""))
            media = problems.MEDIA_TYPE if answer.status >= 400 else "application/json"
            extra = dict(answer.headers or {})
            if answer.replayed:
                extra["Webhook-Replayed"] = "true"
            return JSONResponse(answer.document, answer.status, headers=extra, media_type=media)

        @router.get(CALLBACKS_PATH)
        async def callbacks(
            _: Supervisor,
            state: Literal["pending", "failing", "delivered", "given_up"] | None = None,
            limit: Annotated[int, Query(ge=1, le=500)] = 100,
            offset: Annotated[int, Query(ge=0)] = 0,
        ) -> dict[str, Any]:
            listed = await self.store.callbacks(state=state, limit=limit, offset=offset)
            return {
                "counts": await self.store.callback_counts(),
                "callbacks": [_shown(callback) for callback in listed],
            }

        return router

    async def start(self) -> None:
        await self.store.create()
        self._tasks = [
            asyncio.create_task(self._watch(), name="police-answers"),
            asyncio.create_task(self.sender.run(), name="police-callbacks"),
        ]
        log.info("police adapter started", count=len(self.settings.systems))

    async def stop(self) -> None:
        await stop_tasks(self._tasks)
        self._tasks = []
        await self.sender.close()
        await self.store.close()

    async def _watch(self) -> None:
        while True:
            try:
                if await self.watcher.scan():
                    self.sender.wake()
                self._scan_failure.resolved()
            except CaselinkError as error:
                self._scan_failure.failed("police answer scan failed", reason=error.reason)
            await asyncio.sleep(self.settings.poll_s)


_SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


async def _read_capped(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit` bytes (declared or streamed; never read on)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _shown(callback: Callback) -> dict[str, Any]:
    """A callback as operators see it: ids, state, attempts, times; not its bytes."""
    return {
        "ack_message_id": callback.ack_message_id,
        "system": callback.system,
        "webhook_id": callback.webhook_id,
        "type": callback.event_type,
        "referral_message_id": callback.referral_message_id,
        "thread_id": callback.thread_id,
        "state": callback.shown_state,
        "attempts": callback.attempts,
        "next_attempt_at": callback.next_attempt_at,
        "last_status": callback.last_status,
        "last_error": callback.last_error,
        "created_at": callback.created_at,
        "finished_at": callback.finished_at,
    }
