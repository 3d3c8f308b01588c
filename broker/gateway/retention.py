"""The retention sweep: erase bodies older than the retention period, forget old keys.

What is erased by age (`GatewayStore.erase_expired`): inbox envelopes received more than
`retention_days` ago, and outbox envelopes created that long ago once the broker confirmed
them. An outbox envelope is sealed to its recipient, so this agency could never open it;
it is kept for the period as the signed record of what was sent, and never erased by age
before it is sent (that would lose the message). Ids, kinds, states and times stay, so
/v1/sent, the thread states and the tracker's view are unchanged; each thread's erasure is
logged. Idempotency keys are forgotten after a day (`idempotency.KEY_LIFETIME_S`).
"""

import asyncio
import time
from collections.abc import Callable

from broker.gateway.idempotency import KEY_LIFETIME_S
from broker.gateway.ports import GatewayStore
from broker.logs import get_logger

log = get_logger(__name__)

DAY_S = 86_400.0
DEFAULT_RETENTION_DAYS = 365
SWEEP_INTERVAL_S = 3_600.0
# Bodies erased per transaction: a year of backlog is erased in short transactions that
# leave room for the inbox's and the outbox's own commits between them.
ERASE_BATCH = 500


class RetentionSweeper:
    """Runs `sweep` every `interval_s` in the gateway's background; cancel to stop."""

    def __init__(
        self,
        store: GatewayStore,
        *,
        retention_days: int,
        interval_s: float = SWEEP_INTERVAL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._retention_s = retention_days * DAY_S
        self._interval_s = interval_s
        self._clock = clock

    async def sweep(self) -> int:
        """Erase every body past the retention period, purge old keys; how many erased."""
        now = self._clock()
        erased = 0
        while count := await self._store.erase_expired(
            now - self._retention_s, at=now, limit=ERASE_BATCH
        ):
            erased += count
        await self._store.purge_submissions(now - KEY_LIFETIME_S)
        if erased:
            log.info("bodies erased after the retention period", count=erased)
        return erased

    async def run(self) -> None:
        """Sweep now and then every interval; a failed sweep is logged and tried again."""
        while True:
            try:
                await self.sweep()
            except Exception as error:  # the database may be away: the next sweep retries
                log.error("retention sweep failed", reason=type(error).__name__)
            await asyncio.sleep(self._interval_s)
