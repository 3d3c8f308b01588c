"""Reading the inbox through the API: bodies opened from the sealed envelope, 410 once erased."""

import json
from dataclasses import replace

import pytest

from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import InboxMessage
from broker.gateway.stored import BodyErased, StoredEnvelopeMismatch, open_stored
from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway, referral_request
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
NARRATIVE = "Synthetic narrative for the reading test"


async def test_a_body_is_opened_when_read_and_gone_once_erased() -> None:
    federation = memory_federation()
    store_b = MemoryGatewayStore()
    gateway_b = make_gateway(federation, B, store=store_b)
    async with api_of(make_gateway(federation, A)) as api_a, api_of(gateway_b) as api_b:
        request = referral_request(B, narrative=NARRATIVE)
        sent = (await api_a.post("/v1/referrals", json=request)).json()
        path = f"/v1/inbox/{sent['message_id']}"

        async def arrived() -> bool:
            return (await api_b.get(path)).status_code == 200

        await eventually(arrived, "the referral in B's inbox")
        item = (await api_b.get(path)).json()
        assert item["body"] == request["body"]
        assert item["erased_at"] is None

        # Kept sealed: the stored entry holds the envelope, not the body.
        stored = await store_b.inbox_message(sent["message_id"])
        assert stored is not None
        assert stored.envelope is not None
        assert NARRATIVE.encode() not in stored.envelope
        assert NARRATIVE not in json.dumps(stored.header_json)

        await store_b.erase_thread(sent["thread_id"], at=5.0, by="operator:tester")
        gone = await api_b.get(path)
        assert gone.status_code == 410
        assert gone.json() == {
            "detail": f"the body of message {sent['message_id']} has been erased"
        }
        [listed] = (await api_b.get("/v1/inbox")).json()
        assert (listed["message_id"], listed["erased_at"]) == (sent["message_id"], 5.0)
        # What is left may still be answered: an answer needs no body.
        accept = await api_b.post(f"{path}/accept", json={})
        assert accept.status_code == 200, accept.text


async def test_an_unknown_message_is_404() -> None:
    federation = memory_federation()
    async with api_of(make_gateway(federation, B)) as api:
        missing = await api.get("/v1/inbox/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404


async def test_an_envelope_moved_to_another_row_does_not_open_there() -> None:
    federation = memory_federation()
    keys = federation.keys[B]
    raw = federation.seal(A, B)
    row = InboxMessage(
        message_id="00000000-0000-4000-8000-000000000001",
        thread_id="00000000-0000-4000-8000-000000000002",
        kind="referral",
        sender=A,
        envelope=raw,
        header_json="{}",
        received_at=1.0,
    )
    with pytest.raises(StoredEnvelopeMismatch) as refused:
        open_stored(row, keys)
    assert str(refused.value) == f"message {row.message_id} holds another's envelope"
    with pytest.raises(BodyErased):
        open_stored(replace(row, envelope=None, erased_at=2.0), keys)
