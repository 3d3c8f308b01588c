"""A municipality transfer on the real RabbitMQ: municipality A transfers a case to B; B
accepts one (the case is then B's) and declines another (it stays A's, and A sees why). The
sending gateway, the tracker and its dashboard each show who holds the case."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.gateway.api import create_api
from broker.gateway.service import Gateway
from broker.people.passwords import hash_password
from broker.tracker.service import TrackerService
from broker.web.app import create_tracker_app
from broker.web.users import Role, User
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    keyed_federation,
    make_gateway,
    make_tracker,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B, COORDINATOR = "social-north", "social-south", "police-west"
REASON_TEXT = "Synthetic reason: the family gave an address outside the area"


@asynccontextmanager
async def api(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    app = create_api(gateway, make_users(), manage_lifecycle=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://gateway",
        headers={"Authorization": f"Bearer {SYSTEM_TOKEN}"},
    ) as client:
        yield client


@asynccontextmanager
async def dashboard(service: TrackerService) -> AsyncIterator[httpx.AsyncClient]:
    users = {"coord": User("coord", Role.COORDINATOR, hash_password("pw-coord", n=2**8))}
    app = create_tracker_app(
        service.store, users, session_secret=b"s" * 32, clock=time.time, secure_cookie=False
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://tracker",
        auth=("coord", "pw-coord"),
    ) as client:
        yield client


async def test_a_transfer_accepted_moves_the_case_and_one_declined_stays_with_its_reason(
    tmp_path: Path,
) -> None:
    async with keyed_federation(tmp_path / "secrets.json", agency_ids=[A, B, COORDINATOR]) as keyed:
        await run_scenario(keyed, tmp_path)


async def run_scenario(keyed: KeyedFederation, tmp_path: Path) -> None:
    tracker = make_tracker(keyed, tmp_path, [COORDINATOR])
    await tracker.start()
    try:
        async with (
            running(make_gateway(keyed, A, tmp_path)) as gateway_a,
            running(make_gateway(keyed, B, tmp_path)) as gateway_b,
            api(gateway_a) as api_a,
            api(gateway_b) as api_b,
            dashboard(tracker) as web,
        ):
            body = example_body(MessageKind.TRANSFER)
            taken = await gateway_a.submit(body, kind=MessageKind.TRANSFER, recipient=B)
            refused = await gateway_a.submit(body, kind=MessageKind.TRANSFER, recipient=B)

            async def sent(message_id: str) -> dict[str, Any]:
                item: dict[str, Any] = (await api_a.get(f"/v1/sent/{message_id}")).json()
                return item

            async def both_delivered() -> bool:
                stages = [(await sent(m.message_id))["stage"] for m in (taken, refused)]
                return stages == ["delivered", "delivered"]

            await eventually(both_delivered, "both transfers delivered to B, receipts back at A")
            pending = await sent(taken.message_id)
            assert (pending["holder"], pending["reason_category"]) == (A, None)

            # While B has not answered, the tracker shows both in limbo, held by A.
            async def both_in_limbo() -> bool:
                listed = (await web.get("/api/v1/transfers")).json()["items"]
                return {i["thread_id"] for i in listed} == {taken.thread_id, refused.thread_id}

            await eventually(both_in_limbo, "both transfers in limbo at the tracker")
            limbo = (await web.get("/api/v1/transfers")).json()["items"]
            assert {i["responsibility"] for i in limbo} == {A}
            assert all(i["limbo_seconds"] >= 0 for i in limbo)

            accept = await api_b.post(f"/v1/inbox/{taken.message_id}/accept", json={})
            assert accept.status_code == 200, accept.text
            reason = {"category": "child_not_in_area", "text": REASON_TEXT}
            decline = await api_b.post(
                f"/v1/inbox/{refused.message_id}/decline", json={"reason": reason}
            )
            assert decline.status_code == 200, decline.text

            async def answered_at_a() -> bool:
                stages = [(await sent(m.message_id))["stage"] for m in (taken, refused)]
                return stages == ["accepted", "declined"]

            await eventually(answered_at_a, "B's answers back at A")
            now_b = await sent(taken.message_id)
            back = await sent(refused.message_id)
            assert (now_b["holder"], now_b["reason_category"]) == (B, None)
            assert (back["holder"], back["reason_category"]) == (A, "child_not_in_area")

            async def tracker_followed() -> bool:
                held = (await web.get("/api/v1/transfers-taken")).json()["items"]
                return [i["thread_id"] for i in held] == [taken.thread_id]

            await eventually(tracker_followed, "the acceptance at the tracker")
            [held] = (await web.get("/api/v1/transfers-taken")).json()["items"]
            [still] = (await web.get("/api/v1/transfers")).json()["items"]
            assert (held["phase"], held["responsibility"], held["limbo_seconds"]) == (
                "accepted",
                B,
                None,
            )
            assert (still["thread_id"], still["phase"], still["responsibility"]) == (
                refused.thread_id,
                "declined",
                A,
            )
            assert still["limbo_seconds"] >= 0
            exported = (await web.get("/export/transfers.csv")).text
            assert "limbo_seconds" in exported.splitlines()[0]
            # The tracker sees categories only: never the reason's text (it has no body).
            for path in (
                "/api/v1/transfers",
                f"/api/v1/threads/{refused.thread_id}/timeline",
                "/export/transfers.csv",
            ):
                shown = await web.get(path)
                assert shown.status_code == 200
                assert REASON_TEXT not in shown.text
    finally:
        await tracker.stop()
