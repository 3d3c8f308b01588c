"""Group commit for the outbox: concurrent submissions share one transaction and one fsync.

Durability is unchanged: each caller still returns only after its own envelope is
committed; the batch only amortises the commit's cost across callers who arrived together.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from broker.gateway.ports import GatewayStore
from broker.gateway.records import OutboxMessage

MAX_BATCH = 512


class OutboxWriter:
    """Serialises outbox writes into batches; `run` must be running for `write` to return."""

    def __init__(
        self,
        store: GatewayStore,
        on_committed: Callable[[Sequence[OutboxMessage]], Awaitable[None]],
    ) -> None:
        self._store = store
        self._on_committed = on_committed
        self._queue: asyncio.Queue[tuple[OutboxMessage, asyncio.Future[None]]] = asyncio.Queue()

    async def write(self, entry: OutboxMessage) -> None:
        """Return once `entry` is committed; raise what the store raised for its batch."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, done))
        await done

    async def run(self) -> None:
        """Commit batches forever; cancel the task to stop."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._store.enqueue([entry for entry, _ in batch])
            except Exception as error:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(error)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            await self._on_committed([entry for entry, _ in batch])
