"""/healthz tells a load balancer whether this tracker is consuming its tap."""

import httpx

from broker.tracker.memory_store import MemoryTrackerStore
from broker.web.app import create_tracker_app


async def health(alive: bool) -> httpx.Response:
    app = create_tracker_app(
        MemoryTrackerStore(),
        {},
        session_secret=b"k" * 32,
        clock=lambda: 0.0,
        consumer_alive=lambda: alive,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://tracker"
    ) as client:
        return await client.get("/healthz")


async def test_healthz_is_ok_while_the_consumer_is_subscribed() -> None:
    response = await health(True)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_healthz_is_503_while_the_consumer_is_down() -> None:
    response = await health(False)
    assert (response.status_code, response.json()) == (503, {"status": "consumer_down"})
