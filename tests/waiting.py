"""Waiting in tests for something that has no event to wait on (a file being polled, a
process, a broker): poll a check until it holds, with a deadline that names what it was."""

import asyncio
import time
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], Awaitable[bool]],
    what: str,
    *,
    timeout_s: float = 30.0,
    interval_s: float = 0.02,
) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for: {what}")
        await asyncio.sleep(interval_s)
