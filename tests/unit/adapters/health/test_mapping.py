"""The FHIR referral <-> the canonical referral and consent: the hand-written sample mapped
field by field, every Task built validated by fhir.resources, and round trips."""

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent as FhirConsent
from fhir.resources.R4B.task import Task
from hypothesis import HealthCheck, given, settings

from adapters.health.consents import (
    canonical_to_fhir_consent,
    fhir_consent_to_canonical,
)
from adapters.health.mapping import TaskFacts, referral_to_task, task_to_referral
from adapters.health.outcome import InvalidResource, Missing, NotSupported, RuleBroken, WrongRules
from adapters.health.resources import Resources, validated
from adapters.health.sample import NARRATIVE, sample_bundle, sample_task
from adapters.health.vocabulary import AGENCY_SYSTEM
from schemas.common import LawfulBasis, Worker
from schemas.consent import Consent, ConsentRelation
from schemas.kinds import ConsentStatus, Urgency
from schemas.referral import ReasonCategory, RequestedService, RiskLevel
from tests.strategies import consents, referrals

NEW_ID = "00000000-0000-4000-8000-0000000000aa"
FACTS = TaskFacts(
    task_id="00000000-0000-4000-8000-000000000010",
    thread_id="00000000-0000-4000-8000-000000000011",
    status="requested",
    owner="social-east",
    sender="oscc-north",
    authored_on=1_740_821_400.0,
    last_updated=1_740_821_400.5,
)


def bundle_referral(bundle: dict[str, Any]) -> Any:
    checked = validated(Bundle, bundle, "Bundle")
    entries = [(e.get("fullUrl"), e["resource"]) for e in checked["entry"]]
    [task] = [r for _, r in entries if r["resourceType"] == "Task"]
    return task_to_referral(task, Resources(task, entries), new_consent_id=NEW_ID)


def task_referral(task: dict[str, Any]) -> Any:
    checked = validated(Task, task, "Task")
    return task_to_referral(checked, Resources(checked), new_consent_id=NEW_ID)


def test_the_sample_bundle_maps_field_by_field() -> None:
    inbound = bundle_referral(sample_bundle("social-east"))
    referral, consent = inbound.referral, inbound.consent
    assert inbound.recipient == "social-east"
    subject = referral.subject
    assert (subject.given_name, subject.family_name) == ("Amira", "Example")
    assert subject.other_names == ["Jane", "Mira"]
    assert subject.birth_date == date(2014, 5, 2)
    assert subject.sex.value == "female"
    assert subject.languages == ["ar", "en"]
    assert subject.address is not None
    assert subject.address.lines == ["12 Sample Road", "Flat 3"]
    [mother] = subject.guardians
    assert (mother.name, mother.relation.value, mother.parental_responsibility) == (
        "Layla Example",
        "mother",
        True,
    )
    assert referral.reason_categories == [
        ReasonCategory.PHYSICAL_ABUSE,
        ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE,
    ]
    assert (referral.risk_level, referral.urgency) == (RiskLevel.HIGH, Urgency.HIGH)
    assert referral.requested_service is RequestedService.ASSESSMENT
    assert referral.requested_service_detail == "Home assessment by the duty team"
    assert referral.narrative == NARRATIVE
    assert referral.referring_worker == Worker(
        name="Dr Test Clinician",
        role="Paediatrician, One-Stop Crisis Centre",
        phone="+44 5550 000300",
        email="oscc@hospital.example",
    )
    # The consent is recorded first, and the referral cites it.
    assert consent is not None
    assert referral.consent_ref == consent.consent_id == NEW_ID
    assert referral.lawful_basis is None
    assert consent.status is ConsentStatus.GRANTED
    assert consent.given_by.relation is ConsentRelation.PARENT
    assert consent.scope.agencies == ["social-east"]
    assert [p.value for p in consent.scope.purposes] == ["assessment"]
    assert (consent.valid_from, consent.valid_until) == (date(2025, 3, 1), date(2030, 2, 28))
    assert consent.subject == subject
    assert consent.recorded_by == referral.referring_worker


def test_a_task_with_contained_resources_declares_sharing_without_consent() -> None:
    inbound = task_referral(sample_task("social-east"))
    referral = inbound.referral
    assert inbound.consent is None
    assert referral.consent_ref is None
    assert referral.lawful_basis is LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    assert referral.justification is not None
    assert referral.authorised_by == Worker(
        name="Sam Supervisor", role="Named doctor for safeguarding"
    )
    assert referral.narrative == NARRATIVE


def test_the_outbound_task_is_valid_fhir_and_maps_back() -> None:
    referral = bundle_referral(sample_bundle()).referral
    task = referral_to_task(referral, FACTS)
    Task.model_validate(task)  # raises when not valid R4(B)
    assert task["id"] == FACTS.task_id
    assert task["owner"]["identifier"] == {"system": AGENCY_SYSTEM, "value": "social-east"}
    assert {r["resourceType"] for r in task["contained"]} == {
        "Patient",
        "ServiceRequest",
        "PractitionerRole",
    }
    assert task_referral(task).referral == referral


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(referrals())
def test_any_referral_round_trips_through_a_task(referral: Any) -> None:
    task = referral_to_task(referral, FACTS)
    assert task_referral(task).referral == referral


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(consents().filter(lambda c: c.status is not ConsentStatus.WITHDRAWN))
def test_any_granted_or_refused_consent_round_trips(consent: Consent) -> None:
    patient = {"resourceType": "Patient", "id": "p"}
    fhir, related = canonical_to_fhir_consent(consent, resource_id="c", patient_reference="#p")
    container = validated(FhirConsent, {**fhir, "contained": [patient, *related]}, "Consent")
    back = fhir_consent_to_canonical(
        container,
        Resources(container),
        subject=consent.subject.model_dump(mode="json"),
        recorded_by=consent.recorded_by.model_dump(mode="json"),
        new_id=NEW_ID,
    )
    expected = consent
    if consent.given_by.relation is ConsentRelation.SELF:
        # The child herself: named as the subject is.
        name = f"{consent.subject.given_name} {consent.subject.family_name}"
        expected = consent.model_copy(
            update={"given_by": consent.given_by.model_copy(update={"name": name})}
        )
    assert Consent.model_validate(back) == expected


def test_a_denying_consent_is_a_refused_consent() -> None:
    # Not an error of the mapping: the gateway's rules refuse to send under it.
    bundle = sample_bundle()
    consent = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
    )
    consent["provision"]["type"] = "deny"
    inbound = bundle_referral(bundle)
    assert inbound.consent.status is ConsentStatus.REFUSED
    assert inbound.referral.consent_ref == inbound.consent.consent_id


def test_a_consent_with_exceptions_is_not_taken() -> None:
    # A nested deny ignored would widen the consent; Caselink's scope has no exceptions.
    bundle = sample_bundle()
    consent = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Consent"
    )
    police = {"reference": {"identifier": {"system": AGENCY_SYSTEM, "value": "police-east"}}}
    actor = {**consent["provision"]["actor"][0], **police}
    consent["provision"]["provision"] = [{"type": "deny", "actor": [actor]}]
    with pytest.raises(NotSupported) as refused:
        bundle_referral(bundle)
    assert refused.value.expression == "Consent.provision.provision"


def test_rules_refused_with_where() -> None:
    no_owner = sample_task()
    del no_owner["owner"]
    with pytest.raises(Missing) as missing:
        task_referral(no_owner)
    assert missing.value.expression == "Task.owner"

    draft = {**sample_task(), "status": "draft"}
    with pytest.raises(NotSupported):
        task_referral(draft)
    accepted = {**sample_task(), "status": "accepted"}
    with pytest.raises(RuleBroken):
        task_referral(accepted)

    # Valid FHIR, but not Caselink's: the canonical path is named, the value is not.
    bad_country = sample_task()
    bad_country["contained"][0]["address"][0]["country"] = "Atlantis"
    with pytest.raises(WrongRules) as wrong:
        task_referral(bad_country)
    [issue] = wrong.value.issues()
    assert issue["expression"] == ["subject.address.country"]
    assert "Atlantis" not in str(issue)


def test_invalid_fhir_is_refused_without_its_content() -> None:
    task = sample_task()
    task["contained"][0]["birthDate"] = "Zebedee Secret"
    task["contained"][0]["Zebedee Secret"] = 1
    with pytest.raises(InvalidResource) as invalid:
        validated(Task, task, "Task")
    assert invalid.value.status == 400
    issues = invalid.value.issues()
    assert "Zebedee" not in str(issues)
    assert {tuple(i["expression"]) for i in issues} == {
        ("contained.0.birthDate",),
        ("contained.0.<extra field #1>",),
    }
    unknown_type = {**sample_task(), "contained": [{"resourceType": "Zebedee Secret"}]}
    with pytest.raises(InvalidResource) as unknown:
        validated(Task, unknown_type, "Task")
    assert "Zebedee" not in str(unknown.value.issues())
