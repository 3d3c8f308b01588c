"""The retention sweep: bodies past the retention period are erased in the background."""

import asyncio

import pytest

from broker.gateway import retention
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import RETENTION, Erasure
from broker.gateway.retention import DAY_S, RetentionSweeper
from tests.gateway_records import delivery, incoming
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import Clock, api_of, make_gateway
from tests.waiting import eventually

NOW = 1_800_000_000.0


async def test_bodies_past_the_period_are_erased_and_logged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(retention, "ERASE_BATCH", 2)  # several rounds
    store = MemoryGatewayStore()
    old = [delivery(incoming(received_at=NOW - 31 * DAY_S - n)) for n in range(5)]
    young = delivery(incoming(received_at=NOW - 29 * DAY_S))
    await store.store_received([*old, young])
    sweeper = RetentionSweeper(store, retention_days=30, clock=lambda: NOW)

    assert await sweeper.sweep() == 5
    assert await sweeper.sweep() == 0
    erased = {m.message_id for m in await store.inbox() if m.erased_at == NOW}
    assert erased == {item.message.message_id for item in old}
    log = await store.erasures()
    assert sorted(log, key=lambda e: e.thread_id) == sorted(
        (Erasure(item.message.thread_id, NOW, RETENTION, 1) for item in old),
        key=lambda e: e.thread_id,
    )


class Unavailable(MemoryGatewayStore):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def erase_expired(self, before: float, *, at: float, limit: int) -> int:
        if self.failures:
            self.failures -= 1
            raise OSError("the database went away")
        return await super().erase_expired(before, at=at, limit=limit)


async def test_a_failed_sweep_is_tried_again() -> None:
    store = Unavailable(failures=2)
    await store.store_received([item := delivery(incoming(received_at=NOW - 400 * DAY_S))])
    sweeper = RetentionSweeper(store, retention_days=365, interval_s=0.01, clock=lambda: NOW)
    task = asyncio.create_task(sweeper.run())
    try:

        async def erased() -> bool:
            message = await store.inbox_message(item.message.message_id)
            return message is not None and message.erased_at is not None

        await eventually(erased, "the body erased after two failed sweeps")
    finally:
        task.cancel()
    assert store.failures == 0


async def test_the_gateway_sweeps_in_the_background() -> None:
    clock = Clock()
    store = MemoryGatewayStore()
    old = delivery(incoming(received_at=clock.now - 366 * DAY_S))
    await store.store_received([old])
    gateway = make_gateway(memory_federation(), "social-east", store=store, clock=clock)
    async with api_of(gateway) as api:

        async def gone() -> bool:
            return (await api.get(f"/v1/inbox/{old.message.message_id}")).status_code == 410

        await eventually(gone, "the old body erased by the gateway's own sweep")
