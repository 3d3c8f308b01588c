"""Callbacks survive a gateway restart, and are given up after the schedule."""

import time
from pathlib import Path

import httpx

from broker.gateway.service import Gateway
from broker.store.gateway_store import SqlGatewayStore
from tests.memory_federation import MemoryFederation, memory_federation
from tests.unit.adapters.police.harness import (
    POLICE,
    SOCIAL,
    SUPERVISOR,
    encoded,
    make_adapter,
    notification,
    receiver,
    secret_key,
    signed,
)
from tests.unit.gateway.api_harness import api_of, make_gateway
from tests.waiting import eventually

ANONYMOUS = {"Authorization": ""}


async def shown(api: httpx.AsyncClient) -> dict[str, object]:
    listed: dict[str, object] = (await api.get("/police/callbacks", headers=SUPERVISOR)).json()
    return listed


async def notify_and_get_received(
    federation: MemoryFederation, api: httpx.AsyncClient, folder: Path
) -> None:
    """Post one notification; social services' gateway answers `received` by itself."""
    body = encoded(notification())
    response = await api.post(
        "/police/notifications", content=body, headers=ANONYMOUS | signed(secret_key(folder), body)
    )
    assert response.status_code == 202, response.text


def police_gateway(federation: MemoryFederation, folder: Path) -> Gateway:
    return make_gateway(
        federation, POLICE, store=SqlGatewayStore(f"sqlite+aiosqlite:///{folder}/gateway.db")
    )


async def test_a_pending_callback_is_delivered_after_a_restart(tmp_path: Path) -> None:
    federation = memory_federation()
    # Fails twice, then the police system is back.
    async with receiver([503, 500]) as endpoint, api_of(make_gateway(federation, SOCIAL)):
        gateway = police_gateway(federation, tmp_path)
        first = make_adapter(gateway, tmp_path, endpoint.url, schedule=(0, 30, 0.05, 0.05))
        async with api_of(gateway, adapters=[first]) as api:
            await notify_and_get_received(federation, api, tmp_path)

            async def failed_once() -> bool:
                return (await shown(api))["counts"] == {  # type: ignore[no-any-return]
                    "pending": 0, "failing": 1, "delivered": 0, "given_up": 0,
                }  # fmt: skip

            await eventually(failed_once, "a callback failing, its retry 30 s away")
        # Gateway and adapter stopped with the callback pending; both start again on the
        # same files, the new adapter on a clock half a minute on (its retry is due).
        gateway = police_gateway(federation, tmp_path)
        later = make_adapter(
            gateway,
            tmp_path,
            endpoint.url,
            schedule=(0, 30, 0.05, 0.05),
            clock=lambda: time.time() + 31,
        )
        async with api_of(gateway, adapters=[later]) as api:

            async def delivered() -> bool:
                counts = (await shown(api))["counts"]
                return counts == {"pending": 0, "failing": 0, "delivered": 1, "given_up": 0}

            await eventually(delivered, "the callback delivered after the restart")
            [callback] = (await shown(api))["callbacks"]  # type: ignore[misc]
            assert callback["attempts"] == 3
            assert callback["last_status"] == 204
    assert endpoint.answered == [503, 500, 204]
    assert len({headers["webhook-id"] for headers, _ in endpoint.received}) == 1
    assert len({body for _, body in endpoint.received}) == 1  # the same bytes every time


async def test_a_callback_is_given_up_after_the_schedule(tmp_path: Path) -> None:
    federation = memory_federation()
    async with receiver([500] * 10) as endpoint, api_of(make_gateway(federation, SOCIAL)):
        gateway = police_gateway(federation, tmp_path)
        adapter = make_adapter(gateway, tmp_path, endpoint.url, schedule=(0, 0.01, 0.01))
        async with api_of(gateway, adapters=[adapter]) as api:
            await notify_and_get_received(federation, api, tmp_path)

            async def given_up() -> bool:
                return bool((await shown(api))["counts"]["given_up"] == 1)  # type: ignore[index]

            await eventually(given_up, "the callback given up")
            [callback] = (await shown(api))["callbacks"]  # type: ignore[misc]
            assert callback["state"] == "given_up"
            assert callback["attempts"] == 3
            assert callback["last_error"] == "http_500"
            assert callback["next_attempt_at"] is None
            given_up_list = (
                await api.get("/police/callbacks", params={"state": "given_up"}, headers=SUPERVISOR)
            ).json()
            assert len(given_up_list["callbacks"]) == 1
    assert endpoint.answered == [500, 500, 500]


async def test_gone_gives_up_at_once_and_redirects_are_not_followed(tmp_path: Path) -> None:
    federation = memory_federation()
    async with receiver([302, 410]) as endpoint, api_of(make_gateway(federation, SOCIAL)):
        gateway = police_gateway(federation, tmp_path)
        adapter = make_adapter(gateway, tmp_path, endpoint.url, schedule=(0, 0.01, 0.01))
        async with api_of(gateway, adapters=[adapter]) as api:
            await notify_and_get_received(federation, api, tmp_path)

            async def given_up() -> bool:
                return bool((await shown(api))["counts"]["given_up"] == 1)  # type: ignore[index]

            await eventually(given_up, "the callback given up on 410")
    assert endpoint.answered == [302, 410]
