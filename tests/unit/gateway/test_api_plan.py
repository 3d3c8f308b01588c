"""`POST /v1/inbox/{id}/plan`: the recipient records its plan for an accepted referral or
transfer (status `planned`), between acceptance and completion; the sender sees it."""

from typing import Any

import httpx

from tests.memory_federation import memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway, referral_request
from tests.unit.gateway.test_api_transfers import sent_item, transferred
from tests.waiting import eventually

A, B = "social-north", "social-south"
PLAN = "Synthetic plan: weekly home visits for six weeks, then a review meeting."


async def referred(api_a: httpx.AsyncClient, api_b: httpx.AsyncClient) -> str:
    """Send a referral from A; its message id once it is in B's inbox."""
    sent = await api_a.post("/v1/referrals", json=referral_request(B))
    assert sent.status_code == 202, sent.text
    message_id: str = sent.json()["message_id"]

    async def arrived() -> bool:
        return (await api_b.get(f"/v1/inbox/{message_id}")).status_code == 200

    await eventually(arrived, "the referral in B's inbox")
    return message_id


async def stage_at_sender(api_a: httpx.AsyncClient, message_id: str, stage: str) -> dict[str, Any]:
    async def reached() -> bool:
        return (await sent_item(api_a, message_id))["stage"] == stage

    await eventually(reached, f"the sender seeing {stage}")
    return await sent_item(api_a, message_id)


async def test_a_plan_is_recorded_after_acceptance_and_completion_follows() -> None:
    federation = memory_federation([A, B])
    async with (
        api_of(make_gateway(federation, A)) as api_a,
        api_of(make_gateway(federation, B)) as api_b,
    ):
        message_id = await referred(api_a, api_b)
        path = f"/v1/inbox/{message_id}"
        early = await api_b.post(f"{path}/plan", json={"plan": PLAN})
        assert early.status_code == 409, early.text
        assert "cannot move a received message from new to planned" in early.text

        assert (await api_b.post(f"{path}/accept", json={})).status_code == 200
        for invalid in ({}, {"plan": "   "}, {"plan": "x" * 2_001}, {"outcome": PLAN}):
            refused = await api_b.post(f"{path}/plan", json=invalid)
            assert refused.status_code == 422, invalid
            assert PLAN not in refused.text

        planned = await api_b.post(f"{path}/plan", json={"plan": PLAN, "note": "Synthetic"})
        assert planned.status_code == 200, planned.text
        assert planned.json()["state"] == "planned"
        item = await stage_at_sender(api_a, message_id, "planned")
        assert item["answer"] == "planned"

        # The plan arrives sealed at the sender, and opens there.
        listed = (await api_a.get("/v1/inbox", params={"kind": "acknowledgement"})).json()
        [answer] = [row for row in listed if row["status"] == "planned"]
        body = (await api_a.get(f"/v1/inbox/{answer['message_id']}")).json()["body"]
        assert (body["status"], body["plan"], body["answers"]) == ("planned", PLAN, message_id)

        again = await api_b.post(f"{path}/plan", json={"plan": PLAN})
        assert again.status_code == 409, again.text
        done = await api_b.post(f"{path}/complete", json={"outcome": {"category": "other"}})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "completed"
        await stage_at_sender(api_a, message_id, "completed")
        late = await api_b.post(f"{path}/plan", json={"plan": PLAN})
        assert late.status_code == 409, late.text


async def test_a_planned_referral_may_still_be_withdrawn_by_its_sender() -> None:
    federation = memory_federation([A, B])
    async with (
        api_of(make_gateway(federation, A)) as api_a,
        api_of(make_gateway(federation, B)) as api_b,
    ):
        message_id = await referred(api_a, api_b)
        assert (await api_b.post(f"/v1/inbox/{message_id}/accept", json={})).status_code == 200
        planned = await api_b.post(f"/v1/inbox/{message_id}/plan", json={"plan": PLAN})
        assert planned.status_code == 200, planned.text
        thread_id = planned.json()["thread_id"]
        await stage_at_sender(api_a, message_id, "planned")
        withdrawal = {
            "recipient": B,
            "thread_id": thread_id,
            "body": {
                "status": "withdrawn",
                "answers": message_id,
                "reason": {"category": "no_longer_needed"},
            },
        }
        assert (await api_a.post("/v1/acknowledgements", json=withdrawal)).status_code == 202

        async def withdrawn() -> bool:
            return (await api_b.get(f"/v1/inbox/{message_id}")).json()["state"] == "withdrawn"

        await eventually(withdrawn, "the withdrawal moving B's planned referral")


async def test_a_planned_transfer_is_its_recipient_s_case() -> None:
    federation = memory_federation([A, B])
    async with (
        api_of(make_gateway(federation, A)) as api_a,
        api_of(make_gateway(federation, B)) as api_b,
    ):
        pending = await transferred(api_a, api_b)
        path = f"/v1/inbox/{pending['message_id']}"
        assert (await api_b.post(f"{path}/accept", json={})).status_code == 200
        planned = await api_b.post(f"{path}/plan", json={"plan": PLAN})
        assert planned.status_code == 200, planned.text
        item = await stage_at_sender(api_a, pending["message_id"], "planned")
        assert item["holder"] == B
