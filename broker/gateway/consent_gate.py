"""Sends under a consent and its withdrawal never interleave (one gateway process).

A send checks the register, then seals and commits; a withdrawal marks the consent withdrawn
and reads who received data under it. Were a withdrawal to run between a send's check and
its commit, that send's recipient would receive data under a withdrawn consent and never be
told. So sends share the gate and a withdrawal takes it alone: it waits for the sends in
progress to commit, and sends arriving meanwhile wait for it, then see the consent withdrawn.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ConsentGate:
    """Many senders at once, or one withdrawal; a waiting withdrawal goes before new senders."""

    def __init__(self) -> None:
        self._changed = asyncio.Condition()
        self._sending = 0
        self._withdrawals_waiting = 0
        self._withdrawing = False

    @asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """Hold the gate shared for one send: from its consent check to its commit."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: not self._withdrawing and not self._withdrawals_waiting
            )
            self._sending += 1
        try:
            yield
        finally:
            async with self._changed:
                self._sending -= 1
                self._changed.notify_all()

    @asynccontextmanager
    async def withdrawing(self) -> AsyncIterator[None]:
        """Hold the gate alone for one withdrawal: no send is between check and commit."""
        async with self._changed:
            self._withdrawals_waiting += 1
            try:
                await self._changed.wait_for(lambda: not self._withdrawing and not self._sending)
            finally:
                self._withdrawals_waiting -= 1
                self._changed.notify_all()  # senders held back for it may go, if it gave up
            self._withdrawing = True
        try:
            yield
        finally:
            async with self._changed:
                self._withdrawing = False
                self._changed.notify_all()
