"""Delivers the owed callbacks to each police system's URL, signed, on the retry schedule.

Each attempt posts the stored bytes to the configured URL only (redirects are not followed:
a 3xx is a failed attempt), signed with the system's callback secret through the
`standardwebhooks` package, with the same `webhook-id` every time and this attempt's
`webhook-timestamp`. What follows is `schedule.decide`'s, recorded in the store before the
next callback is tried, so a restart picks up exactly where this process stopped.
A line with the counts per state is logged whenever they change, a warning per give-up.
"""

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from adapters.police.schedule import STANDARD_SCHEDULE_S, Outcome, decide
from adapters.police.store import DELIVERED, GIVEN_UP, PENDING, Callback, PoliceStore
from broker.background import wait_at_most
from broker.errors import CaselinkError
from broker.logs import RecurringFailure, bound_ids, get_logger

log = get_logger(__name__)

BATCH = 50
USER_AGENT = "Caselink-police-adapter/1"


@dataclass(frozen=True)
class Target:
    """Where one police system takes its callbacks, and the key they are signed with."""

    url: str
    key: bytes


def signed_headers(
    webhook: Webhook, webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (plus the content type)."""
    sent_at = datetime.fromtimestamp(timestamp, UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhook.sign(webhook_id, sent_at, body.decode("ascii")),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class CallbackSender:
    """Runs the callbacks' delivery until cancelled; `wake` when one is owed."""

    def __init__(
        self,
        *,
        store: PoliceStore,
        targets: Mapping[str, Target],
        schedule: Sequence[float] = STANDARD_SCHEDULE_S,
        timeout_s: float = 15.0,
        idle_s: float = 2.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store, self._schedule, self._clock = store, schedule, clock
        self._targets = {
            name: (target.url, Webhook(target.key)) for name, target in targets.items()
        }
        self._idle_s = idle_s
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            timeout=timeout_s, follow_redirects=False, transport=transport, trust_env=False
        )
        self._counts: dict[str, int] | None = None
        self._failing = RecurringFailure(log, "police callbacks", clock=self._clock)

    def wake(self) -> None:
        self._wake.set()

    async def close(self) -> None:
        await self._client.aclose()

    async def run(self) -> None:
        """Deliver what is due until cancelled; a store that fails is one recurring log line
        and a wait, never the end of delivery."""
        while True:
            self._wake.clear()
            try:
                while batch := await self._store.due(self._clock(), BATCH):
                    for callback in batch:
                        await self.attempt(callback)
                await self._log_counts()
                next_due = await self._store.next_due()
            except CaselinkError as error:
                self._failing.failed("callbacks not delivered; will retry", reason=error.reason)
                next_due = None
            else:
                self._failing.resolved()
            wait = self._idle_s if next_due is None else next_due - self._clock()
            if wait > 0:
                await wait_at_most(self._wake, min(wait, self._idle_s))

    async def attempt(self, callback: Callback) -> Outcome:
        """Post one callback once and record what follows."""
        attempt = callback.attempts + 1
        status: int | None = None
        error: str | None = None
        retry_after: str | None = None
        target = self._targets.get(callback.system)
        if target is None:
            error = "no_such_system"  # the system's table was removed from the config
        else:
            url, webhook = target
            timestamp = int(self._clock())
            headers = signed_headers(webhook, callback.webhook_id, timestamp, callback.body)
            try:
                # Streamed and closed unread: only the status and Retry-After matter, and
                # a receiver's answer body is not ours to buffer.
                async with self._client.stream(
                    "POST", url, content=callback.body, headers=headers
                ) as response:
                    status = response.status_code
                    retry_after = response.headers.get("retry-after")
            except httpx.TimeoutException:
                error = "timeout"
            except (httpx.HTTPError, httpx.InvalidURL):
                error = "unreachable"
            if status is not None and not 200 <= status < 300:
                error = f"http_{status}"
        verdict = decide(
            410 if target is None else status,  # a system no longer configured: given up
            attempts=attempt,
            now=self._clock(),
            schedule=self._schedule,
            retry_after=retry_after,
        )
        state = {Outcome.DELIVERED: DELIVERED, Outcome.GIVEN_UP: GIVEN_UP}.get(
            verdict.outcome, PENDING
        )
        await self._store.attempted(
            callback.ack_message_id,
            state=state,
            next_attempt_at=verdict.next_attempt_at,
            status=status,
            error=error,
            at=self._clock(),
        )
        with bound_ids(message_id=callback.ack_message_id, thread_id=callback.thread_id):
            if verdict.outcome is Outcome.GIVEN_UP:
                log.warning("police callback given up", attempt=attempt, reason=error)
            elif verdict.outcome is Outcome.RETRY:
                delay = (verdict.next_attempt_at or 0) - self._clock()
                log.info("police callback failed", attempt=attempt, reason=error, delay_s=delay)
        return verdict.outcome

    async def _log_counts(self) -> None:
        counts = await self._store.callback_counts()
        if counts != self._counts:
            self._counts = counts
            log.info(
                "police callbacks "
                + " ".join(f"{state}={count}" for state, count in sorted(counts.items())),
                count=sum(counts.values()),
            )
