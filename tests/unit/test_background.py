"""Background-loop helpers: a stop is never lost and never waits forever."""

import asyncio

import pytest

from broker.background import wait_at_most


async def test_waiting_ends_when_the_event_is_set() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_at_most(event, 60))
    await asyncio.sleep(0)
    event.set()
    await asyncio.wait_for(waiting, 5)


async def test_waiting_ends_after_the_time_given() -> None:
    await asyncio.wait_for(wait_at_most(asyncio.Event(), 0.01), 5)


async def test_a_cancellation_that_arrives_with_the_wake_up_is_not_lost() -> None:
    # asyncio.wait_for drops this cancellation on Python 3.11; a service stopping just as
    # its loop is woken then never stops.
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_at_most(event, 60))
    await asyncio.sleep(0)
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
