"""Background loops of a service: stopped together, within a bounded time."""

import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from typing import Any

from broker.logs import get_logger

log = get_logger(__name__)

STOP_TIMEOUT_S = 10.0


async def stop_tasks(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Cancel every task and wait for them, at most STOP_TIMEOUT_S: a stop never hangs."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=STOP_TIMEOUT_S)
    if pending:
        log.warning(
            "tasks still running after stop",
            count=len(pending),
            path=",".join(sorted(task.get_name() for task in pending)),
        )


async def close_within(closing: Awaitable[Any], what: str) -> None:
    """Await a close (connection, broker, store) for at most STOP_TIMEOUT_S; never raise."""
    try:
        await asyncio.wait_for(closing, STOP_TIMEOUT_S)
    except Exception as error:  # shutting down: report, then carry on closing the rest
        log.warning("could not close cleanly", path=what, reason=type(error).__name__)


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Wait until `event` is set or `seconds` have passed, whichever is first.

    Not asyncio.wait_for: on Python 3.11 it loses a cancellation that arrives as the event is
    set, and a stopping service's loop then runs on (seen: the outbox relay ignored its stop
    when a last offer woke it at that moment).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
