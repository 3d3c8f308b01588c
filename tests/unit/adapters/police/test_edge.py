"""The police webhook through the gateway's API, on the in-memory broker, to social services."""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import ReadChannel
from broker.store.errors import StoreUnavailable
from tests.memory_federation import memory_federation
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

PATH = "/police/notifications"
ANONYMOUS = {"Authorization": ""}


def secret_key_of(folder: Path) -> Callable[[], bytes]:
    """The inbound secret, read once `make_adapter` has written it."""
    return lambda: secret_key(folder)


async def post(api: httpx.AsyncClient, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return await api.post(PATH, content=body, headers=ANONYMOUS | headers)


async def test_each_child_is_referred_to_social_services_once(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    body = encoded(notification(children=2))
    headers = signed(secret_key(tmp_path), body)
    async with (
        api_of(police, adapters=[adapter]) as api,
        api_of(make_gateway(federation, SOCIAL)) as social,
    ):
        first = await post(api, body, headers)
        assert first.status_code == 202, first.text
        answer = first.json()
        assert answer["notification_id"] == "PPN-2025-004211"
        assert [r["child_ref"] for r in answer["referrals"]] == ["P71200", "P71201"]

        for referral in answer["referrals"]:
            path = f"/v1/inbox/{referral['message_id']}"

            async def arrived(path: str = path) -> bool:
                return (await social.get(path)).status_code == 200

            await eventually(arrived, "the referral at social services")
            item = (await social.get(path)).json()
            assert item["thread_id"] == referral["thread_id"]
            assert item["sender"] == POLICE
            assert item["body"]["subject"]["family_name"] == "Turner"
            assert item["body"]["lawful_basis"] == "child_protection_significant_harm"

        # The police system's retry (same webhook-id, same bytes) gets the same answer,
        # from the store, and sends nothing again.
        again = await post(api, body, signed(secret_key(tmp_path), body))
        assert again.status_code == 202
        assert again.json() == answer
        assert again.headers["webhook-replayed"] == "true"
        assert len((await api.get("/v1/sent")).json()) == 2


async def test_consent_obtained_is_recorded_then_cited(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    body = encoded(notification(consent=True))
    async with (
        api_of(police, adapters=[adapter]) as api,
        api_of(make_gateway(federation, SOCIAL)) as social,
    ):
        response = await post(api, body, signed(secret_key(tmp_path), body))
        assert response.status_code == 202, response.text
        [referral] = response.json()["referrals"]
        path = f"/v1/inbox/{referral['message_id']}"

        async def arrived() -> bool:
            return (await social.get(path)).status_code == 200

        await eventually(arrived, "the referral at social services")
        cited = (await social.get(path)).json()["body"]["consent_ref"]
        record = await police.store.consent(cited)
        assert record is not None
        assert record.status == "granted"
        assert record.recorded_by == "case-system"
        assert list(record.agencies) == [SOCIAL]
        assert "assessment" in record.purposes
        # Recorded in the register, not sent as a message of its own.
        assert (await social.get("/v1/inbox", params={"kind": "consent"})).json() == []
        assert [s["kind"] for s in (await api.get("/v1/sent")).json()] == ["referral"]


async def test_sharing_refused_by_the_consent_rules_is_a_problem(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    key = secret_key(tmp_path)
    # Authorised by a sergeant with no supervisor account on this gateway.
    body = encoded(notification(children=2, authorised_by={"name": "DS Tom Okafor", "role": "DS"}))
    async with api_of(police, adapters=[adapter]) as api:
        refused = await post(api, body, signed(key, body, webhook_id="nobody1"))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["type"].endswith("/police/consent-refused")
        assert problem["reason"] == "not_authorised_by_supervisor"
        assert "Okafor" not in refused.text
        assert "Turner" not in refused.text
        assert (await api.get("/v1/sent")).json() == []
        # Kept: the retry is answered the same refusal, and nothing is sent then either.
        again = await post(api, body, signed(key, body, webhook_id="nobody1"))
        assert (again.status_code, again.json()) == (422, problem)
        assert again.headers["webhook-replayed"] == "true"
        assert (await api.get("/v1/sent")).json() == []


async def test_an_accepted_notification_is_replayed_after_a_restart(tmp_path: Path) -> None:
    federation = memory_federation()
    police_store = MemoryGatewayStore()
    key = secret_key_of(tmp_path)
    body = encoded(notification(children=2, consent=True))
    police = make_gateway(federation, POLICE, store=police_store)
    async with api_of(police, adapters=[make_adapter(police, tmp_path)]) as api:
        first = await post(api, body, signed(key(), body))
        assert first.status_code == 202, first.text
    # Another gateway and adapter on the same stores: the webhook-id is remembered.
    police = make_gateway(federation, POLICE, store=police_store)
    async with api_of(police, adapters=[make_adapter(police, tmp_path)]) as api:
        again = await post(api, body, signed(key(), body))
        assert (again.status_code, again.json()) == (202, first.json())
        assert again.headers["webhook-replayed"] == "true"
        assert len((await api.get("/v1/sent")).json()) == 2
        other = encoded(notification(notification_id="PPN-2025-004212"))
        conflict = await post(api, other, signed(key(), other))
        assert conflict.status_code == 409


async def test_refusals_are_problems_that_repeat_nothing(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    key = secret_key(tmp_path)
    good = encoded(notification())
    async with api_of(police, adapters=[adapter]) as api:
        cases: list[tuple[bytes, dict[str, str], int, str]] = [
            (good, {"content-type": "application/json"}, 401, "invalid-signature"),
            (good, signed(bytes(32), good), 401, "invalid-signature"),
            (good, signed(key, good, timestamp=int(time.time()) - 301), 401, "invalid-signature"),
            (good, signed(key, good, timestamp=int(time.time()) + 301), 401, "invalid-signature"),
            # The signature is checked before anything is parsed.
            (b"{not json", signed(bytes(32), b"{not json"), 401, "invalid-signature"),
            (b"{not json", signed(key, b"{not json", webhook_id="w2"), 400, "malformed-json"),
            (b"\xff\xfe", signed(key, b"\xff\xfe", webhook_id="w3"), 400, "malformed-json"),
            (good, signed(key, good, webhook_id="w4") | {"content-type": "text/plain"}, 415,
             "unsupported-media-type"),
        ]  # fmt: skip
        for body, headers, status, slug in cases:
            response = await post(api, body, headers)
            assert response.status_code == status, (status, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["type"].endswith("/police/" + slug)
            assert problem["status"] == status
            assert "Turner" not in response.text
        assert (await api.get("/v1/sent")).json() == []


async def test_a_reused_webhook_id_with_another_body_is_a_conflict(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    key = secret_key(tmp_path)
    first = encoded(notification())
    second = encoded(notification(notification_id="PPN-2025-004212"))
    async with api_of(police, adapters=[adapter]) as api:
        assert (await post(api, first, signed(key, first, webhook_id="w1"))).status_code == 202
        conflict = await post(api, second, signed(key, second, webhook_id="w1"))
        assert conflict.status_code == 409
        assert conflict.json()["type"].endswith("/webhook-id-reused")
        assert len((await api.get("/v1/sent")).json()) == 1


async def test_a_malformed_notification_refuses_only_itself(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    key = secret_key(tmp_path)
    document = notification(children=2)
    document["children"][1]["dob"] = "14/03/2014"  # not ISO 8601: the second child only
    document["children"][0]["nickname"] = "Mo Turner"
    bad = encoded(document)
    good = encoded(notification(notification_id="PPN-2025-004299"))
    async with api_of(police, adapters=[adapter]) as api:
        refused = await post(api, bad, signed(key, bad, webhook_id="bad1"))
        assert refused.status_code == 422
        problem = refused.json()
        assert problem["type"].endswith("/invalid-notification")
        pointers = {error["pointer"] for error in problem["errors"]}
        assert pointers == {"/children/1/dob", "/children/0/<extra field #1>"}
        assert "Turner" not in refused.text
        assert "14/03/2014" not in refused.text
        assert "nickname" not in refused.text
        # Nothing half-sent: the first child was valid, but no referral went.
        assert (await api.get("/v1/sent")).json() == []
        # The same refusal again for a retry; other notifications go through.
        assert (await post(api, bad, signed(key, bad, webhook_id="bad1"))).json() == problem
        assert (await post(api, good, signed(key, good, webhook_id="ok1"))).status_code == 202


async def test_a_body_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    huge = b" " * (adapter.settings.max_body_bytes + 1)
    async with api_of(police, adapters=[adapter]) as api:
        response = await post(api, huge, signed(secret_key(tmp_path), huge))
        assert response.status_code == 413
        assert response.json()["type"].endswith("/payload-too-large")


async def test_answers_are_called_back_signed_with_categories_only(tmp_path: Path) -> None:
    federation = memory_federation()
    police_store = MemoryGatewayStore()
    police = make_gateway(federation, POLICE, store=police_store)
    async with receiver() as endpoint:
        adapter = make_adapter(police, tmp_path, endpoint.url)
        body = encoded(notification(children=2))
        async with (
            api_of(police, adapters=[adapter]) as api,
            api_of(make_gateway(federation, SOCIAL)) as social,
        ):
            sent = (await post(api, body, signed(secret_key(tmp_path), body))).json()
            ids = [r["message_id"] for r in sent["referrals"]]

            async def arrived() -> bool:
                inbox = (await social.get("/v1/inbox", params={"kind": "referral"})).json()
                return len(inbox) == 2

            await eventually(arrived, "both referrals at social services")
            accepted = await social.post(f"/v1/inbox/{ids[0]}/accept", json={"note": "On it"})
            assert accepted.status_code == 200, accepted.text
            declined = await social.post(
                f"/v1/inbox/{ids[1]}/decline",
                json={"reason": {"category": "already_known", "text": "Open case, Leo T."}},
            )
            assert declined.status_code == 200, declined.text

            async def called_back() -> bool:
                return len(endpoint.received) == 4  # received x2, accepted, declined

            await eventually(called_back, "four callbacks at the police system")
            events = []
            out = Webhook((tmp_path / "secrets" / "out.whsec").read_text())
            for headers, raw in endpoint.received:
                assert b"Leo T." not in raw
                assert b"On it" not in raw
                events.append(out.verify(raw, headers))  # the package's own check
                assert headers["webhook-id"].startswith("cl_")
            by_type = {(e["type"], e["data"]["referral_message_id"]): e for e in events}
            assert ("caselink.referral.received", ids[0]) in by_type
            assert ("caselink.referral.received", ids[1]) in by_type
            assert "reason_category" not in by_type["caselink.referral.accepted", ids[0]]["data"]
            declined_event = by_type["caselink.referral.declined", ids[1]]
            assert declined_event["data"]["reason_category"] == "already_known"
            assert declined_event["data"]["child_ref"] == "P71201"
            assert declined_event["data"]["police_reference"] == "WP/25/018344"

            # Opening the decline for its category is a recorded read; the acceptance's
            # body was never opened.
            reads = await police_store.reads(sent["referrals"][1]["thread_id"])
            assert [(r.reader, r.channel) for r in reads] == [("case-system", ReadChannel.POLICE)]
            assert await police_store.reads(sent["referrals"][0]["thread_id"]) == []

            async def all_delivered() -> bool:
                shown = (await api.get("/police/callbacks", headers=SUPERVISOR)).json()
                return bool(shown["counts"]["delivered"] == 4)

            await eventually(all_delivered, "four callbacks shown delivered")
            shown = (await api.get("/police/callbacks", headers=SUPERVISOR)).json()
            assert {c["state"] for c in shown["callbacks"]} == {"delivered"}
            assert "Turner" not in json.dumps(shown)
            # Supervisors only: the police system's own token, and caseworkers, may not look.
            assert (await api.get("/police/callbacks")).status_code == 403
            assert (await api.get("/police/callbacks", headers=ANONYMOUS)).status_code == 401


async def test_a_send_cut_short_is_resumed_under_the_same_ids(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    adapter = make_adapter(police, tmp_path)
    body = encoded(notification(children=2))
    real_submit = police.submit
    calls = 0

    async def second_fails(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise StoreUnavailable("enqueue", OSError("disk gone"))
        return await real_submit(*args, **kwargs)

    async with api_of(police, adapters=[adapter]) as api:
        police.submit = second_fails  # type: ignore[method-assign]
        cut = await post(api, body, signed(secret_key(tmp_path), body))
        assert cut.status_code == 503
        assert cut.headers["retry-after"] == "30"
        assert len((await api.get("/v1/sent")).json()) == 1
        retried = await post(api, body, signed(secret_key(tmp_path), body))
        assert retried.status_code == 202
        sent = {s["message_id"] for s in (await api.get("/v1/sent")).json()}
        assert sent == {r["message_id"] for r in retried.json()["referrals"]}


async def test_a_consent_resumed_the_next_day_is_the_one_recorded(tmp_path: Path) -> None:
    federation = memory_federation()
    police = make_gateway(federation, POLICE)
    now = [time.time()]
    adapter = make_adapter(police, tmp_path, clock=lambda: now[0])
    body = encoded(notification(consent=True))
    real_submit = police.submit

    async def fails(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("enqueue", OSError("disk gone"))

    async with api_of(police, adapters=[adapter]) as api:
        police.submit = fails  # type: ignore[method-assign]
        cut = await post(api, body, signed(secret_key(tmp_path), body, timestamp=int(now[0])))
        assert cut.status_code == 503  # the consent recorded, the referral not sent
        police.submit = real_submit  # type: ignore[method-assign]
        now[0] += 86_400.0
        retried = await post(api, body, signed(secret_key(tmp_path), body, timestamp=int(now[0])))
        assert retried.status_code == 202, retried.text  # not a conflicting consent
        [sent] = (await api.get("/v1/sent")).json()
        assert sent["message_id"] == retried.json()["referrals"][0]["message_id"]
