"""Background loops of a service: stopped together, waiting for each to finish."""

import asyncio
import contextlib
from collections.abc import Sequence


async def stop_tasks(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel every task, then wait for each, so none outlives the service that ran it."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
