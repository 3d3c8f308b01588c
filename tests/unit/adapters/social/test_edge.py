"""The social-services adapter driven as OpenFn's Primero adaptor would drive Primero:
two municipalities' gateways on the in-memory broker, each with the adapter, request by
request (HTTP Basic, JSON bodies wrapped in `data`)."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.social import build
from adapters.social.edge import SocialAdapter
from adapters.social.sample import sample_case, sample_referral, sample_transfer
from adapters.social.vault import MAX_TRANSITIONS, SentTransition
from broker.envelope import verify_directory
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext
from broker.gateway.records import ConsentRecord, ReadChannel
from broker.gateway.service import Gateway
from broker.testing import InMemoryBroker
from broker.topology.definitions import build_definitions
from broker.topology.names import Topology
from schemas.examples import CONSENT_ID
from tests.gateway_users import PASSWORDS, make_users
from tests.integration.rabbit_federation import make_keys
from tests.memory_federation import MemoryFederation
from tests.unit.adapters.social.primero_client import PrimeroClient
from tests.unit.gateway.api_harness import api_of, make_gateway
from tests.waiting import eventually

A, B = "social-east", "social-west"  # two municipalities' social services


def federation() -> MemoryFederation:
    root, keys, signed = make_keys([A, B])
    trusted = verify_directory(signed, root.public())
    topology = Topology()
    users = topology.users([A, B])
    definitions = build_definitions(trusted.directory, dict.fromkeys(users, "unused"), topology)
    broker = InMemoryBroker.from_definitions(definitions)
    return MemoryFederation(broker, topology, root, keys, signed, trusted)


def adapter_of(gateway: Gateway, folder: Path, table: dict[str, Any] | None = None) -> Any:
    context = AdapterContext(gateway=gateway, folder=folder, clock=gateway._clock)
    return build(table or {}, context)


@asynccontextmanager
async def municipalities(tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Both gateways running with the adapter; per agency its gateway and two clients
    (ana, a caseworker; sam, a supervisor)."""
    fed = federation()
    out: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        for agency in (A, B):
            gateway = make_gateway(fed, agency)
            adapter = adapter_of(gateway, tmp_path / agency)
            api = await stack.enter_async_context(api_of(gateway, adapters=[adapter]))
            out[agency] = {
                "gateway": gateway,
                "adapter": adapter,
                "ana": PrimeroClient(api, "ana", PASSWORDS["ana"]),
                "sam": PrimeroClient(api, "sam", PASSWORDS["sam"]),
            }
        yield out


async def received_case(client: PrimeroClient) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        found[:] = await client.get_cases(with_referrals=True)
        return bool(found)

    await eventually(arrived, "a received case")
    return found[0]


async def test_a_referral_made_received_accepted_and_seen_accepted(tmp_path: Path) -> None:
    async with municipalities(tmp_path) as m:
        east, west = m[A]["ana"], m[B]["ana"]
        case = await east.create_case(sample_case())
        assert case["name_first"] == "Test"
        assert case["owned_by_agency_id"] == A

        answer = await east.create_referrals(sample_referral([case["id"]], B)["data"])
        assert answer.status_code == 200, answer.text
        [sent] = answer.json()["data"]
        assert sent["status"] == "in_progress"
        assert sent["type"] == "Referral"
        assert sent["transitioned_to_agency"] == B
        assert sent["record_id"] == case["id"]

        # West holds nothing of its own: what it lists is what it received.
        got = await received_case(west)
        assert (got["name_first"], got["name_last"], got["sex"]) == ("Test", "Child", "female")
        assert got["date_of_birth"] == "2015-06-01"
        assert got["owned_by_agency_id"] == A
        [referral] = got["referrals"]
        assert referral["status"] == "in_progress"
        assert referral["user_can_accept_or_reject"] is True
        assert referral["service"] == "psychosocial_service"
        assert referral["transitioned_by_user_agency"] == A

        # updateReferral, as OpenFn's jobs send it: extra keys Primero ignores included.
        patch = {"status": "accepted", "type": "Referral", "id": referral["id"]}
        accepted = await west.update_referral(got["id"], referral["id"], patch)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["data"]["status"] == "accepted"
        assert accepted.json()["data"]["responded_at"].endswith("Z")

        async def seen_accepted() -> bool:
            [mine] = await east.get_referrals(case["id"])
            return bool(mine["status"] == "accepted")

        await eventually(seen_accepted, "the sender sees the referral accepted")

        # Accepting again is refused, in Primero's form, not ignored.
        again = await west.update_referral(got["id"], referral["id"], {"status": "accepted"})
        assert again.status_code == 409
        assert again.json()["errors"][0]["status"] == 409

        # Every opening of the body at West was recorded, through the Primero channel.
        reads = await m[B]["gateway"].store.reads(got["id"])
        assert reads
        assert {r.channel for r in reads} == {ReadChannel.PRIMERO}
        assert {r.reader for r in reads} == {"ana"}
        # The consent the case's flags stand for is in East's register, scoped to West and
        # service provision, and the referral cites it; no consent message went to West.
        [consent] = await case_consents(m[A]["gateway"])
        assert (consent.agencies, consent.purposes) == ((B,), ("service_provision",))
        assert (consent.giver, consent.recorded_by) == ("parent", "ana")
        assert await m[A]["gateway"].store.consent_recipients(consent.consent_id) == [B]
        assert await m[B]["gateway"].store.inbox(kind="consent") == []


async def case_consents(gateway: Gateway) -> list[ConsentRecord]:
    """The consents the adapter recorded (the harness records the examples' own first)."""
    return [c for c in await gateway.store.consents() if c.consent_id != CONSENT_ID]


async def test_a_referral_for_an_assessment_records_a_consent_for_assessment(
    tmp_path: Path,
) -> None:
    async with municipalities(tmp_path) as m:
        east = m[A]["ana"]
        case = await east.create_case(sample_case())
        asked = sample_referral([case["id"]], B, service="case_management_assessment")
        answer = await east.create_referrals(asked["data"])
        assert answer.status_code == 200, answer.text
        # The gateway derives the purpose from the body: a consent for service provision
        # would have been refused (purpose_not_covered).
        [consent] = await case_consents(m[A]["gateway"])
        assert consent.purposes == ("assessment",)
        assert await m[A]["gateway"].store.consent_recipients(consent.consent_id) == [B]


async def test_a_referral_done_after_acceptance_and_revoked_by_its_sender(tmp_path: Path) -> None:
    async with municipalities(tmp_path) as m:
        east, west = m[A]["ana"], m[B]["ana"]
        first = await east.create_case(sample_case())
        second = await east.create_case(sample_case(risk_level="low"))
        answer = await east.create_referrals(
            sample_referral([first["id"], second["id"]], B)["data"]
        )
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["data"]) == 2

        async def both() -> bool:
            return len(await west.get_cases()) == 2

        await eventually(both, "both referrals received")
        cases = await west.get_cases(with_referrals=True)
        # Done before accepted: refused.
        one = cases[0]
        rid = one["referrals"][0]["id"]
        early = await west.update_referral(one["id"], rid, {"status": "done"})
        assert early.status_code == 409
        await west.update_referral(one["id"], rid, {"status": "accepted"})
        done = await west.update_referral(
            one["id"], rid, {"status": "done", "rejection_note": "Sessions held."}
        )
        assert done.status_code == 200, done.text
        assert done.json()["data"]["status"] == "done"

        # East revokes the other one.
        other = next(c for c in cases if c["id"] != one["id"])
        other_rid = other["referrals"][0]["id"]
        sent = [t for c in (first, second) for t in await east.get_referrals(c["id"])]
        mine = next(t for t in sent if t["id"] == other_rid)
        revoked = await east.call(
            "DELETE", f"/api/v2/cases/{mine['record_id']}/referrals/{mine['id']}"
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["data"]["status"] == "revoked"

        async def seen_revoked() -> bool:
            [theirs] = await west.get_referrals(other["id"])
            return bool(theirs["status"] == "revoked")

        await eventually(seen_revoked, "the recipient sees the referral revoked")


async def test_transfers_accepted_move_ownership_and_rejected_return_it(tmp_path: Path) -> None:
    async with municipalities(tmp_path) as m:
        east, west = m[A]["ana"], m[B]["sam"]
        moving = await east.create_case(sample_case())
        staying = await east.create_case(sample_case())
        for case in (moving, staying):
            answer = await east.call(
                "POST", f"/api/v2/cases/{case['id']}/transfers", sample_transfer(B)
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["type"] == "Transfer"

        async def both() -> bool:
            return len(await west.get_cases()) == 2

        await eventually(both, "both transfers received")
        [newer, older] = await west.get_cases()  # newest first: `staying` was sent last
        [take] = await west.transfers(older["id"])
        [refuse] = await west.transfers(newer["id"])
        assert take["status"] == refuse["status"] == "in_progress"

        path = f"/api/v2/cases/{older['id']}/transfers/{take['id']}"
        assert (await west.call("PATCH", path, {"data": {"status": "accepted"}})).status_code == 200
        no_reason = f"/api/v2/cases/{newer['id']}/transfers/{refuse['id']}"
        bare = await west.call("PATCH", no_reason, {"data": {"status": "rejected"}})
        assert bare.status_code == 422
        assert bare.json()["errors"][0]["detail"] == "rejected_reason"
        reasoned = {"data": {"status": "rejected", "rejected_reason": "child_not_in_area"}}
        assert (await west.call("PATCH", no_reason, reasoned)).status_code == 200

        owned = {c["id"]: c["owned_by_agency_id"] for c in await west.get_cases()}
        assert owned == {older["id"]: B, newer["id"]: A}

        async def settled() -> bool:
            statuses = {
                c["id"]: (await east.transfers(c["id"]))[0]["status"] for c in (moving, staying)
            }
            return statuses == {moving["id"]: "accepted", staying["id"]: "rejected"}

        await eventually(settled, "the sender sees one transfer accepted, one rejected")
        cases = {c["id"]: c for c in await east.get_cases()}
        assert cases[moving["id"]]["owned_by_agency_id"] == B
        assert cases[moving["id"]]["status"] == "transferred"
        assert cases[staying["id"]]["owned_by_agency_id"] == A
        assert cases[staying["id"]]["status"] == "open"

        # An accepted transfer is the recipient's case: its sender cannot revoke it.
        [taken] = await east.transfers(moving["id"])
        late = await east.call("DELETE", f"/api/v2/cases/{moving['id']}/transfers/{taken['id']}")
        assert late.status_code == 409
        assert late.json()["errors"][0]["resource"].startswith("/api/v2/cases/")


def _error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"errors"}
    [entry] = body["errors"]
    assert set(entry) == {"status", "resource", "message", "detail"}
    assert entry["status"] == answer.status_code
    return dict(entry)


async def test_malformed_requests_are_answered_in_primeros_error_form(tmp_path: Path) -> None:
    async with municipalities(tmp_path) as m:
        east, west = m[A]["ana"], m[A]["sam"]
        case = await east.create_case(sample_case())
        refer = f"/api/v2/cases/{case['id']}/referrals"

        no_data = await east.call("POST", refer, {"transitioned_to": B})
        assert (no_data.status_code, _error(no_data)["detail"]) == (422, "data")
        not_json = await east.api.post(refer, content=b"{", headers=east.headers)
        assert _error(not_json)["detail"] == "data"
        nobody = await east.call("POST", refer, {"data": {"notes": "x"}})
        assert _error(nobody)["detail"] == "transitioned_to"
        unknown_agency = await east.call(
            "POST", refer, {"data": {"transitioned_to": "police-nowhere", "notes": "x"}}
        )
        assert _error(unknown_agency)["detail"] == "transitioned_to"
        user_name = await east.call("POST", refer, {"data": {"transitioned_to": "Ana Lopes"}})
        assert _error(user_name)["detail"] == "transitioned_to"
        bad_sex = await east.call("POST", "/api/v2/cases", {"data": {"sex": "x" * 300}})
        assert _error(bad_sex)["detail"] == "sex"
        missing = await east.call("GET", "/api/v2/cases/00000000-0000-4000-8000-000000000009")
        assert _error(missing)["message"] == "Not Found"
        not_an_id = await east.call("GET", "/api/v2/cases/../../v1/inbox/referrals")
        assert not_an_id.status_code == 404
        bad_status = await east.call(
            "PATCH", f"{refer}/00000000-0000-4000-8000-000000000009", {"data": {"status": "x"}}
        )
        assert bad_status.status_code == 404

        # Consent: without the case's flags, refused; an override needs a supervisor.
        no_consent = await east.create_case(sample_case(consent=False))
        refer_plain = f"/api/v2/cases/{no_consent['id']}/referrals"
        asked = {"data": {"transitioned_to": B, "notes": "Urgent: child at risk tonight."}}
        refused = await east.call("POST", refer_plain, asked)
        assert (refused.status_code, _error(refused)["detail"]) == (422, "consent")
        overriding = {"data": {**asked["data"], "consent_overridden": True}}
        by_caseworker = await east.call("POST", refer_plain, overriding)
        assert _error(by_caseworker)["detail"] == "consent"
        by_supervisor = await west.call("POST", refer_plain, overriding)
        assert by_supervisor.status_code == 200, by_supervisor.text
        assert by_supervisor.json()["data"]["consent_overridden"] is True

        # Nothing of a refused request was sent: one referral (the supervisor's) in all.
        sent = await m[A]["gateway"].store.sent()
        assert [s.message.kind for s in sent] == ["referral"]


async def test_cases_survive_a_restart_sealed_in_their_folder(tmp_path: Path) -> None:
    fed = federation()
    gateway = make_gateway(fed, A)
    adapter: SocialAdapter = adapter_of(gateway, tmp_path, {"cases_folder": "cases"})
    async with api_of(gateway, adapters=[adapter]) as api:
        case = await PrimeroClient(api, "ana", PASSWORDS["ana"]).create_case(sample_case())
    files = list((tmp_path / "cases").iterdir())
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o077 == 0
    assert b"Child" not in files[0].read_bytes()  # sealed: no name on disk

    again = make_gateway(fed, A)
    reborn = adapter_of(again, tmp_path, {"cases_folder": "cases"})
    async with api_of(again, adapters=[reborn]) as api:
        [back] = await PrimeroClient(api, "ana", PASSWORDS["ana"]).get_cases()
    assert back["id"] == case["id"]
    assert back["name_last"] == "Child"


def test_a_bad_table_is_one_line(tmp_path: Path) -> None:
    gateway = make_gateway(federation(), A)
    with pytest.raises(AdapterConfigError, match=r"^\[adapters\.social\]: consent_days") as caught:
        adapter_of(gateway, tmp_path, {"consent_days": 0})
    assert "\n" not in str(caught.value)
    with pytest.raises(AdapterConfigError, match="extra"):
        adapter_of(gateway, tmp_path, {"unknown": 1})


async def test_repeat_sends_cite_the_consent_the_case_gave_for_that_recipient_and_purpose(
    tmp_path: Path,
) -> None:
    async with municipalities(tmp_path) as m:
        east = m[A]["ana"]
        case = await east.create_case(sample_case())
        for _ in range(2):
            answer = await east.create_referrals(sample_referral([case["id"]], B)["data"])
            assert answer.status_code == 200, answer.text
        [consent] = await case_consents(m[A]["gateway"])
        assert consent.purposes == ("service_provision",)
        # Another purpose is another consent: a transfer records one for case transfer.
        moved = await east.call("POST", f"/api/v2/cases/{case['id']}/transfers", sample_transfer(B))
        assert moved.status_code == 200, moved.text
        purposes = sorted(c.purposes for c in await case_consents(m[A]["gateway"]))
        assert purposes == [("case_transfer",), ("service_provision",)]
        assert len(await m[A]["gateway"].store.sent()) == 3


async def test_a_withdrawn_consent_refuses_the_next_referral_in_primeros_form(
    tmp_path: Path,
) -> None:
    async with municipalities(tmp_path) as m:
        east, gateway = m[A]["ana"], m[A]["gateway"]
        case = await east.create_case(sample_case())
        other = await east.create_case(sample_case())
        first = await east.create_referrals(sample_referral([case["id"]], B)["data"])
        assert first.status_code == 200, first.text
        [consent] = await case_consents(gateway)
        await gateway.withdraw_consent(consent.consent_id, by=make_users()["sam"])
        sent_before = len(await gateway.store.sent())

        # The case's flags do not give it again: the withdrawal stands.
        again = await east.create_referrals(sample_referral([case["id"]], B)["data"])
        assert again.status_code == 422
        assert _error(again)["message"] == ["transition.errors.consent_withdrawn"]
        assert _error(again)["detail"] == "consent"
        assert consent.consent_id not in again.text
        # In bulk, refused before the first send: the other case's referral does not go.
        both = await east.create_referrals(sample_referral([other["id"], case["id"]], B)["data"])
        assert (both.status_code, _error(both)["detail"]) == (422, "consent")
        assert len(await gateway.store.sent()) == sent_before
        assert len(await case_consents(gateway)) == 1


async def test_a_case_at_its_bound_of_transitions_refuses_one_more(tmp_path: Path) -> None:
    async with municipalities(tmp_path) as m:
        east, adapter = m[A]["ana"], m[A]["adapter"]
        case = await east.create_case(sample_case())
        record = adapter.vault.get(case["id"])
        sent = SentTransition(
            id=case["id"],
            thread_id=case["id"],
            kind="referral",
            recipient=B,
            created_at=0,
            by="ana",
        )
        adapter.vault.put(record.model_copy(update={"transitions": [sent] * MAX_TRANSITIONS}))
        more = await east.create_referrals(sample_referral([case["id"]], B)["data"])
        assert (more.status_code, _error(more)["detail"]) == (409, "record_id")
        assert (await east.call("GET", f"/api/v2/cases/{case['id']}")).status_code == 200
