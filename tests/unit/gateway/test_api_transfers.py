"""A municipality's transfer as its sender sees it: pending (still its case) until the
receiving municipality accepts; a decline returns it with the reason's category."""

import json
from typing import Any

import httpx
from structlog.testing import capture_logs

from broker.gateway.memory_store import MemoryGatewayStore
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway
from tests.waiting import eventually

A, B = "social-north", "social-south"
REASON_TEXT = "Synthetic reason text naming the family"


def transfer_request(recipient: str) -> dict[str, Any]:
    body = json.loads(example_body(MessageKind.TRANSFER).model_dump_json())
    return {"recipient": recipient, "body": body}


async def sent_item(api: httpx.AsyncClient, message_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/sent/{message_id}")
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()
    return item


async def transferred(api_a: httpx.AsyncClient, api_b: httpx.AsyncClient) -> dict[str, Any]:
    """Send a transfer from A and wait until it is in B's inbox and A saw it delivered."""
    sent = await api_a.post("/v1/transfers", json=transfer_request(B))
    assert sent.status_code == 202, sent.text
    message_id: str = sent.json()["message_id"]

    async def delivered() -> bool:
        in_b = (await api_b.get(f"/v1/inbox/{message_id}")).status_code == 200
        return in_b and (await sent_item(api_a, message_id))["stage"] == "delivered"

    await eventually(delivered, "the transfer in B's inbox, its receipt back at A")
    return await sent_item(api_a, message_id)


async def test_a_transfer_stays_the_senders_until_the_receiver_accepts() -> None:
    federation = memory_federation([A, B])
    async with (
        api_of(make_gateway(federation, A)) as api_a,
        api_of(make_gateway(federation, B)) as api_b,
    ):
        pending = await transferred(api_a, api_b)
        assert (pending["kind"], pending["holder"], pending["reason_category"]) == (
            "transfer",
            A,
            None,
        )
        accepted = await api_b.post(f"/v1/inbox/{pending['message_id']}/accept", json={})
        assert accepted.status_code == 200, accepted.text

        async def taken() -> bool:
            return (await sent_item(api_a, pending["message_id"]))["stage"] == "accepted"

        await eventually(taken, "B's acceptance back at A")
        item = await sent_item(api_a, pending["message_id"])
        assert (item["holder"], item["reason_category"]) == (B, None)


async def test_a_declined_transfer_comes_back_with_its_reason_category() -> None:
    federation = memory_federation([A, B])
    store_a = MemoryGatewayStore()
    with capture_logs() as logs:
        async with (
            api_of(make_gateway(federation, A, store=store_a)) as api_a,
            api_of(make_gateway(federation, B)) as api_b,
        ):
            pending = await transferred(api_a, api_b)
            reason = {"category": "child_not_in_area", "text": REASON_TEXT}
            path = f"/v1/inbox/{pending['message_id']}/decline"
            declined = await api_b.post(path, json={"reason": reason})
            assert declined.status_code == 200, declined.text

            async def returned() -> bool:
                return (await sent_item(api_a, pending["message_id"]))["stage"] == "declined"

            await eventually(returned, "B's decline back at A")
            item = await sent_item(api_a, pending["message_id"])
            listed = [i for i in (await api_a.get("/v1/sent")).json() if i["kind"] == "transfer"]
            # The text is the sender's to read, in the answer's body (a recorded read).
            answers = [m for m in await store_a.inbox() if m.in_reply_to == item["message_id"]]
            [answer] = [m for m in answers if m.status == "declined"]
            read = await api_a.get(f"/v1/inbox/{answer.message_id}")
    assert (item["holder"], item["reason_category"]) == (A, "child_not_in_area")
    assert listed == [item]
    assert read.json()["body"]["reason"] == reason
    # Only the category is kept in the clear: the text stays sealed, and is never logged.
    assert answer.reason_category == "child_not_in_area"
    assert answer.envelope is not None
    assert REASON_TEXT.encode() not in answer.envelope
    assert REASON_TEXT not in repr(logs)
