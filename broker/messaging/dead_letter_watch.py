"""Watching the dead-letter queue: a `capacity` alert to the coordinators when it is near full.

The dead-letter queue is bounded (QueueLimits.dead_letters) and rejects what comes past its
bound, so when it is full a refused envelope stays in the queue it died in, which then fills
up behind it. Operators must empty it before that: from DEAD_LETTER_NEAR_FULL of the bound
the watch raises a `dead_letters_near_full` alert to every coordinator, then again at most
once per `repeat_s` while it stays there (a reminder, not a flood). `caselink dlq check`
reports the same Depth for a monitoring system to poll.

The look is passive (no permission beyond the vhost is needed). A failing look or a failed
alert is logged once as a recurring failure and tried again at the next look.
"""

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from broker.logs import RecurringFailure, get_logger
from broker.messaging.alerts import publish_alert
from broker.messaging.errors import DeliveryError, QueueLookRefused
from broker.messaging.port import Publisher, QueueGauge
from broker.topology.names import DEAD_LETTER_NEAR_FULL, DEAD_LETTER_QUEUE
from schemas.alert import Alert, dead_letters_near_full_alert

log = get_logger(__name__)

LOOK_EVERY_S = 60.0
REPEAT_S = 3600.0


@dataclass(frozen=True)
class Depth:
    """How full the dead-letter queue is."""

    messages: int
    bound: int

    @property
    def near_full(self) -> bool:
        return self.messages >= DEAD_LETTER_NEAR_FULL * self.bound

    def line(self) -> str:
        share = 100 * self.messages / self.bound if self.bound else 100.0
        text = f"{self.messages} of {self.bound} dead letters ({share:.0f}%)"
        if self.near_full:
            text += (
                "; near full: when full, new dead letters wait in the queues they died in,"
                " which then fill up"
            )
        return text


def near_full_alerts(
    depth: Depth,
    coordinators: Sequence[str],
    now: float,
    last_alert_at: float | None,
    repeat_s: float,
) -> list[Alert]:
    """The alerts owed at `now`: one per coordinator when near full and none went out in the
    last `repeat_s`; else none."""
    if not depth.near_full:
        return []
    if last_alert_at is not None and now - last_alert_at < repeat_s:
        return []
    return [
        dead_letters_near_full_alert(
            alert_id=str(uuid.uuid4()),
            agency=coordinator,
            raised_at=int(now),
            depth=depth.messages,
            bound=depth.bound,
        )
        for coordinator in coordinators
    ]


class DeadLetterWatch:
    """Looks at the dead-letter queue every `look_every_s` and alerts as the module says."""

    def __init__(
        self,
        *,
        gauge: QueueGauge,
        publisher: Publisher,
        coordinators: Sequence[str],
        bound: int,
        look_every_s: float = LOOK_EVERY_S,
        repeat_s: float = REPEAT_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._gauge = gauge
        self._publisher = publisher
        self._coordinators = tuple(coordinators)
        self._bound = bound
        self._look_every_s = look_every_s
        self._repeat_s = repeat_s
        self._clock = clock
        self._last_alert_at: float | None = None
        self._failing = RecurringFailure(log, "dead-letter watch", clock=clock)

    async def look_once(self) -> int:
        """One look; returns how many alerts it published."""
        try:
            depth = Depth(await self._gauge.depth(DEAD_LETTER_QUEUE), self._bound)
        except (DeliveryError, QueueLookRefused) as error:
            self._failing.failed("dead-letter queue not looked at", reason=error.reason)
            return 0
        now = self._clock()
        owed = near_full_alerts(depth, self._coordinators, now, self._last_alert_at, self._repeat_s)
        try:
            for alert in owed:
                await publish_alert(self._publisher, alert)
        except DeliveryError as error:
            self._failing.failed("dead-letter queue near full; not alerted", reason=error.reason)
            return 0
        self._failing.resolved()
        if owed:
            self._last_alert_at = now
            log.warning(
                "dead-letter queue near full; coordinators alerted",
                queue=DEAD_LETTER_QUEUE,
                count=depth.messages,
            )
        return len(owed)

    async def run(self) -> None:
        """Look until cancelled."""
        while True:
            await self.look_once()
            await asyncio.sleep(self._look_every_s)
