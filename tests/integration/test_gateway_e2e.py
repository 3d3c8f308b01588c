"""Two gateways on the real RabbitMQ exchange every message kind through their HTTP APIs."""

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from broker.gateway.api import create_api
from broker.gateway.service import Gateway
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.gateway_users import SYSTEM_TOKEN, make_users
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)

pytestmark = pytest.mark.rabbitmq

AUTH = {"Authorization": f"Bearer {SYSTEM_TOKEN}"}  # the agency's case system


def client(gateway: Gateway) -> httpx.AsyncClient:
    app = create_api(gateway, make_users(), manage_lifecycle=False)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway", headers=AUTH
    )


def body_of(kind: MessageKind) -> dict[str, Any]:
    return json.loads(example_body(kind).model_dump_json())


async def submit(
    api: httpx.AsyncClient,
    path: str,
    recipient: str,
    body: dict[str, Any],
    thread_id: str | None = None,
) -> dict[str, Any]:
    request: dict[str, Any] = {"recipient": recipient, "body": body}
    if thread_id:
        request["thread_id"] = thread_id
    response = await api.post(path, json=request)
    assert response.status_code == 202, response.text
    accepted: dict[str, Any] = response.json()
    return accepted


async def inbox_item(api: httpx.AsyncClient, message_id: str) -> dict[str, Any]:
    async def arrived() -> bool:
        return (await api.get(f"/v1/inbox/{message_id}")).status_code == 200

    await eventually(arrived, f"message {message_id} in the inbox")
    item: dict[str, Any] = (await api.get(f"/v1/inbox/{message_id}")).json()
    return item


async def sent_item(api: httpx.AsyncClient, message_id: str, field: str, value: Any) -> None:
    async def reached() -> bool:
        response = await api.get(f"/v1/sent/{message_id}")
        return response.status_code == 200 and response.json()[field] == value

    await eventually(reached, f"sent {message_id} with {field}={value}")


async def delivered(api: httpx.AsyncClient, message_id: str) -> None:
    async def acked() -> bool:
        return (await api.get(f"/v1/sent/{message_id}")).json()["delivered_at"] is not None

    await eventually(acked, f"received acknowledgement of {message_id}")


async def test_every_kind_end_to_end(keyed: KeyedFederation, tmp_path: Path) -> None:
    a, b = "oscc-north", "social-east"
    async with (
        running(make_gateway(keyed, a, tmp_path)) as gateway_a,
        running(make_gateway(keyed, b, tmp_path)) as gateway_b,
        client(gateway_a) as api_a,
        client(gateway_b) as api_b,
    ):
        # Referral: received automatically, then accepted and completed by B.
        referral = body_of(MessageKind.REFERRAL)
        sent = await submit(api_a, "/v1/referrals", b, referral)
        item = await inbox_item(api_b, sent["message_id"])
        assert item["body"] == referral
        assert (item["kind"], item["sender"], item["state"]) == ("referral", a, "new")
        await delivered(api_a, sent["message_id"])
        accept = await api_b.post(f"/v1/inbox/{sent['message_id']}/accept", json={})
        assert accept.status_code == 200, accept.text
        await sent_item(api_a, sent["message_id"], "answer", "accepted")
        complete = await api_b.post(
            f"/v1/inbox/{sent['message_id']}/complete",
            json={"outcome": {"category": "service_provided"}},
        )
        assert complete.status_code == 200, complete.text
        await sent_item(api_a, sent["message_id"], "answer", "completed")
        again = await api_b.post(f"/v1/inbox/{sent['message_id']}/accept", json={})
        assert again.status_code == 409

        # Transfer: declined with a reason, which the sender sees.
        transfer = await submit(api_a, "/v1/transfers", b, body_of(MessageKind.TRANSFER))
        await inbox_item(api_b, transfer["message_id"])
        no_reason = await api_b.post(f"/v1/inbox/{transfer['message_id']}/decline", json={})
        assert no_reason.status_code == 422
        declined = await api_b.post(
            f"/v1/inbox/{transfer['message_id']}/decline",
            json={"reason": {"category": "outside_remit"}},
        )
        assert declined.status_code == 200, declined.text
        await sent_item(api_a, transfer["message_id"], "answer", "declined")

        # Consent: delivered and readable.
        consent = body_of(MessageKind.CONSENT)
        sent_consent = await submit(api_a, "/v1/consents", b, consent)
        assert (await inbox_item(api_b, sent_consent["message_id"]))["body"] == consent
        await delivered(api_a, sent_consent["message_id"])

        # Acknowledgement sent by the API: the sender withdraws a referral B has not answered.
        second = await submit(api_a, "/v1/referrals", b, body_of(MessageKind.REFERRAL))
        await inbox_item(api_b, second["message_id"])
        withdrawal = {
            "status": "withdrawn",
            "answers": second["message_id"],
            "reason": {"category": "no_longer_needed"},
        }
        await submit(api_a, "/v1/acknowledgements", b, withdrawal, second["thread_id"])

        async def withdrawn() -> bool:
            item = (await api_b.get(f"/v1/inbox/{second['message_id']}")).json()
            return bool(item["state"] == "withdrawn")

        await eventually(withdrawn, "referral withdrawn at the recipient")


async def test_api_refuses_bad_input_without_echoing_it(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    gateway = make_gateway(keyed, "oscc-north", tmp_path)
    await gateway.store.create()
    try:
        async with client(gateway) as api:
            referral = body_of(MessageKind.REFERRAL)
            referral["narrative"] = "SECRET-MARKER " * 3
            referral["unexpected"] = True
            bad = await api.post(
                "/v1/referrals", json={"recipient": "social-east", "body": referral}
            )
            assert bad.status_code == 422
            assert "SECRET-MARKER" not in bad.text
            assert "unexpected" not in bad.text  # a key can be case data: named by position
            assert "<extra field #1>" in bad.text
            unknown = await api.post(
                "/v1/referrals",
                json={"recipient": "nobody-here", "body": body_of(MessageKind.REFERRAL)},
            )
            assert unknown.status_code == 422
            anonymous = await api.get("/v1/inbox", headers={"Authorization": ""})
            assert anonymous.status_code == 401
            wrong = await api.get("/v1/inbox", headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401
            missing = await api.get("/v1/inbox/00000000-0000-4000-8000-000000000000")
            assert missing.status_code == 404
    finally:
        await gateway.store.close()
