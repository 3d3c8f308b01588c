"""Gateways and their HTTP APIs on the in-memory broker, for the API's unit tests."""

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx

from broker.gateway.adapter_port import Adapter
from broker.gateway.api import create_api
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.ports import GatewayStore
from broker.gateway.service import Gateway
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.consents import grant_example_consent
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.memory_federation import MemoryFederation

AUTH = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}


class Clock:
    """A clock the test moves; starts at the real time (envelopes are checked against it)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make_gateway(
    federation: MemoryFederation,
    agency: str,
    *,
    store: GatewayStore | None = None,
    clock: Callable[[], float] = time.time,
) -> Gateway:
    topology = federation.topology
    return Gateway(
        keys=federation.keys[agency],
        directory=federation.trusted,
        store=store or MemoryGatewayStore(),
        publisher=federation.agency_publisher(agency),
        subscription=federation.subscription(topology.agency_queue(agency)),
        topology=topology,
        watchdog_interval_s=0.5,
        users=make_users(),
        clock=clock,
    )


@asynccontextmanager
async def api_of(
    gateway: Gateway, *, adapters: Sequence[Adapter] = ()
) -> AsyncIterator[httpx.AsyncClient]:
    """The started gateway's API as a client, `adapters` started (the app's lifespan); all
    stopped afterwards."""
    await gateway.start()
    await grant_example_consent(gateway)
    app = create_api(gateway, make_users(), manage_lifecycle=False, adapters=adapters)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=AUTH
            ) as client,
        ):
            yield client
    finally:
        await gateway.stop()


def referral_request(recipient: str, **body: Any) -> dict[str, Any]:
    referral = json.loads(example_body(MessageKind.REFERRAL).model_dump_json())
    return {"recipient": recipient, "body": referral | body}
