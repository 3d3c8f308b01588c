"""The /fhir endpoint through the gateway's API on the in-memory broker: a hospital (A)
posts referrals and reads them answered; it reads and answers referrals from social
services (B); refusals are OperationOutcomes that repeat nothing sent."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.capabilitystatement import CapabilityStatement
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.task import Task

from adapters.health import build
from adapters.health.mapping import task_to_referral
from adapters.health.resources import Resources, validated
from adapters.health.sample import sample_bundle, sample_task
from broker.gateway.adapter_port import AdapterConfigError, AdapterContext
from broker.gateway.memory_store import MemoryGatewayStore
from broker.gateway.records import ReadChannel
from broker.gateway.service import Gateway
from schemas.examples import CONSENT_ID
from tests.memory_federation import MemoryFederation, memory_federation
from tests.unit.gateway.api_harness import api_of, make_gateway, referral_request
from tests.waiting import eventually

A, B = "oscc-north", "social-east"
FHIR = {"Content-Type": "application/fhir+json"}
SECRET = "Zebedee Secret"


def health_adapter(gateway: Gateway, table: dict[str, Any] | None = None) -> Any:
    context = AdapterContext(gateway=gateway, folder=Path("."), clock=lambda: 1_740_821_400.0)
    return build(table or {}, context)


@asynccontextmanager
async def two_gateways(
    federation: MemoryFederation | None = None,
) -> AsyncIterator[
    tuple[httpx.AsyncClient, httpx.AsyncClient, MemoryGatewayStore, MemoryGatewayStore]
]:
    federation = federation or memory_federation()
    store_a, store_b = MemoryGatewayStore(), MemoryGatewayStore()
    gateway_a = make_gateway(federation, A, store=store_a)
    gateway_b = make_gateway(federation, B, store=store_b)
    async with (
        api_of(gateway_a, adapters=[health_adapter(gateway_a)]) as api_a,
        api_of(gateway_b) as api_b,
    ):
        yield api_a, api_b, store_a, store_b


def outcome_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    assert SECRET not in response.text
    found: dict[str, Any] = response.json()
    OperationOutcome.model_validate(found)
    return found


def authorised_task(recipient: str) -> dict[str, Any]:
    """The sample Task, its sharing without consent authorised by the test users'
    supervisor (`sam`): the gateway refuses any other authoriser."""
    task = sample_task(recipient)
    [authoriser] = [r for r in task["contained"] if r["id"] == "authoriser"]
    authoriser["practitioner"]["display"] = "sam"
    return task


def consent_of(bundle: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
    )
    return found


def refusal_reason(outcome: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The issue's code, its details' reason slug and its expression."""
    [issue] = outcome["issue"]
    [coding] = issue["details"]["coding"]
    assert coding["system"] == "https://caselink.example/fhir/CodeSystem/refusal-reason"
    assert coding["code"] in issue["diagnostics"]
    return issue["code"], coding["code"], issue["expression"]


async def arrived(api: httpx.AsyncClient, path: str) -> None:
    async def there() -> bool:
        return (await api.get(path)).status_code == 200

    await eventually(there, f"{path} served")


async def test_a_bundle_becomes_a_referral_the_hospital_then_reads_accepted() -> None:
    async with two_gateways() as (api_a, api_b, _, _):
        posted = await api_a.post("/fhir/Bundle", json=sample_bundle(B), headers=FHIR)
        assert posted.status_code == 200, posted.text
        assert posted.headers["content-type"] == "application/fhir+json"
        answer = Bundle.model_validate(posted.json())
        assert answer.type == "transaction-response"
        statuses = [entry["response"] for entry in posted.json()["entry"]]
        assert len(statuses) == len(sample_bundle(B)["entry"])
        [location] = [s["location"] for s in statuses if "location" in s]
        task_id = location.removeprefix("Task/")

        # B receives the very referral the Bundle carried.
        await arrived(api_b, f"/v1/inbox/{task_id}")
        item = (await api_b.get(f"/v1/inbox/{task_id}")).json()
        bundle = validated(Bundle, sample_bundle(B), "Bundle")
        entries = [(e.get("fullUrl"), e["resource"]) for e in bundle["entry"]]
        [task] = [r for _, r in entries if r["resourceType"] == "Task"]
        expected = task_to_referral(task, Resources(task, entries), new_consent_id=task_id).referral
        body = item["body"]
        assert body["subject"] == json.loads(expected.subject.model_dump_json())
        assert body["narrative"] == expected.narrative
        assert body["consent_ref"] is not None

        # A reads it: requested, then received, then accepted, then completed with output.
        async def status_is(wanted: str) -> bool:
            found = await api_a.get(f"/fhir/Task/{task_id}")
            return found.status_code == 200 and found.json()["status"] == wanted

        await eventually(lambda: status_is("received"), "the automatic receipt")
        assert (await api_b.post(f"/v1/inbox/{task_id}/accept", json={})).status_code == 200
        await eventually(lambda: status_is("accepted"), "the acceptance, as A's Task")
        done = {"outcome": {"category": "service_provided", "text": "Assessment done"}}
        assert (await api_b.post(f"/v1/inbox/{task_id}/complete", json=done)).status_code == 200
        await eventually(lambda: status_is("completed"), "the completion, as A's Task")
        read = (await api_a.get(f"/fhir/Task/{task_id}")).json()
        Task.model_validate(read)
        [output] = read["output"]
        assert output["valueCodeableConcept"]["coding"][0]["code"] == "service_provided"
        assert output["valueCodeableConcept"]["text"] == "Assessment done"
        assert "contained" not in read  # sealed to B: A cannot open what it sent

        searched = (await api_a.get("/fhir/Task", params={"status": "completed"})).json()
        Bundle.model_validate(searched)
        assert [e["resource"]["id"] for e in searched["entry"]] == [task_id]


async def test_a_declined_referral_reads_rejected_with_its_reason() -> None:
    async with two_gateways() as (api_a, api_b, _, _):
        created = await api_a.post("/fhir/Task", json=authorised_task(B), headers=FHIR)
        assert created.status_code == 201, created.text
        task_id = created.json()["id"]
        assert created.headers["location"] == f"http://gateway/fhir/Task/{task_id}"
        assert created.json()["status"] == "requested"
        Task.model_validate(created.json())
        await arrived(api_b, f"/v1/inbox/{task_id}")
        reason = {"reason": {"category": "outside_remit", "text": "Not our area"}}
        assert (await api_b.post(f"/v1/inbox/{task_id}/decline", json=reason)).status_code == 200

        async def rejected() -> bool:
            return (await api_a.get(f"/fhir/Task/{task_id}")).json()["status"] == "rejected"

        await eventually(rejected, "the decline, as a rejected Task")
        read = (await api_a.get(f"/fhir/Task/{task_id}")).json()
        assert read["statusReason"]["coding"][0]["code"] == "outside_remit"
        assert read["statusReason"]["text"] == "Not our area"


async def test_the_hospital_reads_and_answers_a_referral_it_received() -> None:
    async with two_gateways() as (api_a, api_b, store_a, _):
        sent = (await api_b.post("/v1/referrals", json=referral_request(A))).json()
        task_id = sent["message_id"]
        await arrived(api_a, f"/fhir/Task/{task_id}")

        searched = await api_a.get(
            "/fhir/Task", params={"status": "received", "_lastUpdated": "gt2020-01-01T00:00:00Z"}
        )
        assert searched.status_code == 200, searched.text
        bundle = searched.json()
        Bundle.model_validate(bundle)
        [entry] = bundle["entry"]
        task = entry["resource"]
        assert (task["id"], task["status"], entry["search"]["mode"]) == (
            task_id,
            "received",
            "match",
        )
        assert {r["resourceType"] for r in task["contained"]} >= {"Patient", "ServiceRequest"}
        reads = await store_a.reads(sent["thread_id"])
        assert reads
        assert all(r.channel is ReadChannel.FHIR for r in reads)
        assert {r.reader for r in reads} == {"case-system"}
        nothing = await api_a.get("/fhir/Task", params={"_lastUpdated": "gt2999-01-01T00:00:00Z"})
        assert nothing.json()["entry"] == []

        # Answers: a rule broken is a 422; an id mismatch a 400; then accepted goes through.
        complete_now = {**task, "status": "completed"}
        outcome_of(await api_a.put(f"/fhir/Task/{task_id}", json=complete_now), 422)
        no_reason = {**task, "status": "rejected"}
        outcome_of(await api_a.put(f"/fhir/Task/{task_id}", json=no_reason), 422)
        in_progress = {**task, "status": "in-progress"}
        outcome_of(await api_a.put(f"/fhir/Task/{task_id}", json=in_progress), 422)
        other_id = {**task, "id": "00000000-0000-4000-8000-000000000999"}
        outcome_of(await api_a.put(f"/fhir/Task/{task_id}", json=other_id), 400)
        accepted = await api_a.put(f"/fhir/Task/{task_id}", json={**task, "status": "accepted"})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["status"] == "accepted"

        async def accepted_at_b() -> bool:
            found = (await api_b.get(f"/v1/sent/{task_id}")).json()
            return bool(found["answer"] == "accepted")

        await eventually(accepted_at_b, "B sees its referral accepted")
        # A performer may not cancel in Caselink; the requester's statuses are not its own.
        cancelled = {**task, "status": "cancelled"}
        outcome_of(await api_a.put(f"/fhir/Task/{task_id}", json=cancelled), 422)


async def test_malformed_requests_are_operation_outcomes() -> None:
    async with two_gateways() as (api_a, _, _, _):
        outcome_of(await api_a.post("/fhir/Task", content=f"{{{SECRET}", headers=FHIR), 400)
        patient_at_task = {"resourceType": "Patient", "name": [{"text": SECRET}]}
        outcome_of(await api_a.post("/fhir/Task", json=patient_at_task, headers=FHIR), 400)
        invalid = authorised_task(B)
        invalid["contained"][0]["birthDate"] = SECRET
        found = outcome_of(await api_a.post("/fhir/Task", json=invalid, headers=FHIR), 400)
        assert found["issue"][0]["expression"] == ["contained.0.birthDate"]
        no_owner = authorised_task(B)
        del no_owner["owner"]
        found = outcome_of(await api_a.post("/fhir/Task", json=no_owner, headers=FHIR), 422)
        assert found["issue"][0]["expression"] == ["Task.owner"]
        unknown_agency = authorised_task("nowhere-agency")
        outcome_of(await api_a.post("/fhir/Task", json=unknown_agency, headers=FHIR), 422)
        outcome_of(await api_a.get("/fhir/Patient/1"), 404)
        outcome_of(await api_a.get("/fhir/Task/00000000-0000-4000-8000-000000000999"), 404)
        outcome_of(await api_a.delete("/fhir/Task/00000000-0000-4000-8000-000000000999"), 405)
        outcome_of(await api_a.get("/fhir/Task", params={"_lastUpdated": "2020"}), 400)
        xml = {"Content-Type": "application/fhir+xml"}
        outcome_of(await api_a.post("/fhir/Task", content=b"<Task/>", headers=xml), 415)
        # Nothing was sent by any of them.
        assert (await api_a.get("/v1/sent")).json() == []


async def test_metadata_is_a_valid_capability_statement() -> None:
    async with two_gateways() as (api_a, _, _, _):
        found = await api_a.get("/fhir/metadata")
        assert found.status_code == 200
        statement = CapabilityStatement.model_validate(found.json())
        assert statement.rest is not None
        documentation = str(statement.rest[0].documentation)
        assert "received" in documentation
        assert "SDOH" in documentation
        anonymous = await api_a.get("/fhir/metadata", headers={"Authorization": ""})
        assert anonymous.status_code == 401


def test_a_bad_table_is_one_line() -> None:
    gateway = make_gateway(memory_federation(), A)
    with pytest.raises(AdapterConfigError, match=r"^\[adapters\.health\]: invalid page_size$"):
        health_adapter(gateway, {"page_size": 0})
    with pytest.raises(AdapterConfigError, match=r"extra field #1"):
        health_adapter(gateway, {"pages": 3})


async def test_the_hospital_withdraws_a_referral_it_sent_by_cancelling_its_task() -> None:
    async with two_gateways() as (api_a, api_b, _, _):
        created = (await api_a.post("/fhir/Task", json=authorised_task(B), headers=FHIR)).json()
        task_id = created["id"]
        await arrived(api_b, f"/v1/inbox/{task_id}")
        read = (await api_a.get(f"/fhir/Task/{task_id}")).json()
        # The requester may not accept its own referral; it may cancel it.
        outcome_of(
            await api_a.put(f"/fhir/Task/{task_id}", json={**read, "status": "accepted"}), 422
        )
        cancelled = await api_a.put(f"/fhir/Task/{task_id}", json={**read, "status": "cancelled"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"

        async def withdrawn_at_b() -> bool:
            [item] = (await api_b.get("/v1/inbox", params={"kind": "referral"})).json()
            return bool(item["state"] == "withdrawn")

        await eventually(withdrawn_at_b, "B's referral withdrawn")


async def test_a_bundle_s_consent_is_recorded_then_cited_by_a_later_task() -> None:
    async with two_gateways() as (api_a, api_b, _, _):
        posted = await api_a.post("/fhir/Bundle", json=sample_bundle(B), headers=FHIR)
        assert posted.status_code == 200, posted.text
        [location] = [
            e["response"]["location"] for e in posted.json()["entry"] if "location" in e["response"]
        ]
        first = location.removeprefix("Task/")
        await arrived(api_b, f"/v1/inbox/{first}")
        consent_id = (await api_b.get(f"/v1/inbox/{first}")).json()["body"]["consent_ref"]
        recorded = (await api_a.get(f"/v1/consents/records/{consent_id}")).json()
        assert recorded["status"] == "granted"
        assert recorded["shared_with"] == [B]

        # A Task citing the recorded consent by its identifier: no Consent sent again.
        task = sample_task(B)
        task["extension"] = [e for e in task["extension"] if "sharing" not in e["url"]]
        [service] = [r for r in task["contained"] if r["resourceType"] == "ServiceRequest"]
        service["supportingInfo"] = [
            {
                "identifier": {
                    "system": "https://caselink.example/fhir/sid/consent",
                    "value": consent_id,
                }
            }
        ]
        created = await api_a.post("/fhir/Task", json=task, headers=FHIR)
        assert created.status_code == 201, created.text
        second = created.json()["id"]
        await arrived(api_b, f"/v1/inbox/{second}")
        assert (await api_b.get(f"/v1/inbox/{second}")).json()["body"]["consent_ref"] == consent_id


async def test_a_refused_consent_is_an_operation_outcome_naming_the_reason() -> None:
    async with two_gateways() as (api_a, _, _, _):
        registered = len((await api_a.get("/v1/consents/records")).json())

        async def refused(bundle: dict[str, Any]) -> tuple[str, str, list[str]]:
            answer = await api_a.post("/fhir", json=bundle, headers=FHIR)
            return refusal_reason(outcome_of(answer, 422))

        # The Consent covers another agency, not the Task's owner.
        elsewhere = sample_bundle(B)
        actor = consent_of(elsewhere)["provision"]["actor"][0]["reference"]
        actor["identifier"]["value"] = "police-east"
        supporting = ["ServiceRequest.supportingInfo"]
        assert await refused(elsewhere) == ("business-rule", "recipient_not_covered", supporting)
        # The Consent's purpose is not the referral's (an assessment).
        other_purpose = sample_bundle(B)
        consent_of(other_purpose)["provision"]["purpose"][0]["code"] = "case_transfer"
        assert await refused(other_purpose) == ("business-rule", "purpose_not_covered", supporting)
        # The family refused.
        denied = sample_bundle(B)
        consent_of(denied)["provision"]["type"] = "deny"
        assert await refused(denied) == ("business-rule", "consent_not_granted", supporting)
        # A consent cited by identifier that this agency never recorded.
        unknown = authorised_task(B)
        unknown["extension"] = [e for e in unknown["extension"] if "sharing" not in e["url"]]
        [service] = [r for r in unknown["contained"] if r["resourceType"] == "ServiceRequest"]
        service["supportingInfo"] = [
            {
                "identifier": {
                    "system": "https://caselink.example/fhir/sid/consent",
                    "value": "00000000-0000-4000-8000-0000000000ee",
                }
            }
        ]
        answer = await api_a.post("/fhir/Task", json=unknown, headers=FHIR)
        assert refusal_reason(outcome_of(answer, 422))[1] == "consent_not_recorded"
        # Sharing without consent authorised by someone who is not a supervisor here.
        unauthorised = sample_task(B)
        answer = await api_a.post("/fhir/Task", json=unauthorised, headers=FHIR)
        assert refusal_reason(outcome_of(answer, 422)) == (
            "business-rule",
            "not_authorised_by_supervisor",
            ["Task.extension"],
        )

        # The id of a consent recorded already with another scope: a conflict, not a change.
        clash = sample_bundle(B)
        consent_of(clash)["identifier"] = [
            {"system": "https://caselink.example/fhir/sid/consent", "value": CONSENT_ID}
        ]
        answer = await api_a.post("/fhir", json=clash, headers=FHIR)
        assert outcome_of(answer, 409)["issue"][0]["code"] == "conflict"

        # All or nothing: no consent recorded, no referral sent.
        assert len((await api_a.get("/v1/consents/records")).json()) == registered
        assert (await api_a.get("/v1/sent")).json() == []
