"""A FHIR Consent <-> Caselink's canonical Consent (pure).

What Caselink keeps of a Consent: its id (identifier of CONSENT_SYSTEM when it is a UUIDv4,
else a fresh one), the person who gave it (`performer[0]`: the Patient herself, a
RelatedPerson with its relationship, or an Organization for a court order), its scope
(`provision.actor` Organizations by agency id or by kind of agency, `provision.purpose`,
`provision.code` data categories) and its period (`provision.period`, dates). An active
Consent whose provision permits is a granted consent; one whose provision denies is a
refused consent, which the gateway's consent rules refuse to send under
(`consent_not_granted`). Nested provisions (exceptions to the base rule) are not taken:
Caselink's scope has no exceptions, and ignoring a nested deny would widen the consent.
"""

import re
from datetime import date
from typing import Any

from adapters.health.outcome import Missing, NotSupported, RuleBroken
from adapters.health.resources import Json, Resources, agency_reference, codes
from adapters.health.vocabulary import (
    AGENCY_KIND_SYSTEM,
    AGENCY_SYSTEM,
    CONSENT_POLICY,
    CONSENT_RELATION,
    CONSENT_SCOPE,
    CONSENT_SYSTEM,
    DATA_CATEGORY,
    PURPOSE,
    V3_ACT_CODE,
    V3_CONSENT_RELATIONS,
    V3_ROLE_CODE,
)
from schemas.consent import Consent, ConsentRelation
from schemas.ids import UUID4_PATTERN
from schemas.kinds import ConsentStatus

_RECIPIENT_ROLE = {
    "coding": [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}
    ]
}


def fhir_consent_to_canonical(
    consent: Json,
    resources: Resources,
    *,
    subject: dict[str, Any],
    recorded_by: dict[str, Any],
    new_id: str,
) -> dict[str, Any]:
    """The canonical consent (a dict to validate) of a FHIR Consent about `subject`.

    A denying provision is a refused consent (status refused), not an error here: the
    gateway's rules refuse it. Raises Missing / RuleBroken / NotSupported (422).
    """
    if consent.get("status") != "active":
        raise RuleBroken("the Consent must be active", expression="Consent.status")
    provision = consent.get("provision") or {}
    if provision.get("provision"):
        raise NotSupported(
            "a Consent with nested provisions (exceptions) is not taken: send one provision",
            expression="Consent.provision.provision",
        )
    granted = provision.get("type", "permit") == "permit"
    period = provision.get("period") or {}
    if "start" not in period or "end" not in period:
        raise Missing(
            "the Consent needs a provision period with start and end",
            expression="Consent.provision.period",
        )
    actors = [actor.get("reference") or {} for actor in provision.get("actor", [])]
    return {
        "consent_id": _consent_id(consent, new_id),
        "subject": subject,
        "given_by": _giver(consent, resources, subject),
        "scope": {
            "agencies": [v for a in actors if (v := _identifier(a, AGENCY_SYSTEM))],
            "agency_kinds": [v for a in actors if (v := _identifier(a, AGENCY_KIND_SYSTEM))],
            "purposes": [
                c["code"] for c in provision.get("purpose", []) if c.get("system") == PURPOSE
            ],
            "data_categories": codes(provision.get("code", []), DATA_CATEGORY),
        },
        "valid_from": _date(period["start"]),
        "valid_until": _date(period["end"]),
        "status": (ConsentStatus.GRANTED if granted else ConsentStatus.REFUSED).value,
        "recorded_by": recorded_by,
    }


def canonical_to_fhir_consent(
    consent: Consent, *, resource_id: str, patient_reference: str
) -> tuple[Json, list[Json]]:
    """A FHIR Consent of `consent` about the Patient at `patient_reference`, and the
    RelatedPerson it names as performer (contained by the caller), if any."""
    giver = consent.given_by
    related: list[Json] = []
    if giver.court_order:
        performer: Json = {"type": "Organization", "display": "court order"}
    elif giver.relation is ConsentRelation.SELF:
        performer = {"reference": patient_reference}
    else:
        person_id = f"{resource_id}-giver"
        performer = {"reference": f"#{person_id}"}
        related.append(
            {
                "resourceType": "RelatedPerson",
                "id": person_id,
                "patient": {"reference": patient_reference},
                "name": [{"text": giver.name}],
                "relationship": [
                    {"coding": [{"system": CONSENT_RELATION, "code": (giver.relation or "other")}]}
                ],
            }
        )
    scope = consent.scope
    actors = [agency_reference(agency) for agency in scope.agencies] + [
        {"identifier": {"system": AGENCY_KIND_SYSTEM, "value": kind.value}}
        for kind in scope.agency_kinds
    ]
    status = {ConsentStatus.GRANTED: "active", ConsentStatus.REFUSED: "active"}.get(
        consent.status, "inactive"
    )
    fhir: Json = {
        "resourceType": "Consent",
        "id": resource_id,
        "identifier": [{"system": CONSENT_SYSTEM, "value": consent.consent_id}],
        "status": status,
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": V3_ACT_CODE, "code": "IDSCL"}]}],
        "patient": {"reference": patient_reference},
        "performer": [performer],
        "policyRule": {"coding": [{"system": CONSENT_POLICY, "code": "cric"}]},
        "provision": {
            "type": "deny" if consent.status is ConsentStatus.REFUSED else "permit",
            "period": {
                "start": consent.valid_from.isoformat(),
                "end": consent.valid_until.isoformat(),
            },
            "actor": [{"role": _RECIPIENT_ROLE, "reference": actor} for actor in actors],
            "purpose": [{"system": PURPOSE, "code": p.value} for p in scope.purposes],
            "code": [
                {"coding": [{"system": DATA_CATEGORY, "code": c.value}]}
                for c in scope.data_categories
            ],
        },
    }
    return fhir, related


def _consent_id(consent: Json, new_id: str) -> str:
    for identifier in consent.get("identifier", []):
        value = str(identifier.get("value", ""))
        if identifier.get("system") == CONSENT_SYSTEM and re.fullmatch(UUID4_PATTERN, value):
            return value
    return new_id


def _giver(consent: Json, resources: Resources, subject: dict[str, Any]) -> dict[str, Any]:
    performers = consent.get("performer", [])
    if not performers:
        raise Missing("the Consent needs a performer", expression="Consent.performer")
    performer = performers[0]
    if performer.get("type") == "Organization":
        return {"court_order": True}
    person = resources.find(performer)
    if person is not None and person.get("resourceType") == "Patient":
        name = f"{subject['given_name']} {subject['family_name']}"
        return {"name": name, "relation": ConsentRelation.SELF.value}
    if person is None or person.get("resourceType") != "RelatedPerson":
        raise Missing(
            "Consent.performer must reference the Patient or a RelatedPerson in the request",
            expression="Consent.performer",
        )
    names = person.get("name") or [{}]
    name = names[0].get("text") or " ".join(
        [*names[0].get("given", []), *([names[0]["family"]] if "family" in names[0] else [])]
    )
    return {"name": name or None, "relation": _relation(person.get("relationship", []))}


def _relation(relationships: Any) -> str:
    ours = codes(relationships, CONSENT_RELATION)
    if ours:
        return ours[0]
    theirs = codes(relationships, V3_ROLE_CODE)
    return V3_CONSENT_RELATIONS.get(theirs[0], "other") if theirs else "other"


def _identifier(reference: Json, system: str) -> str | None:
    identifier = reference.get("identifier") or {}
    if identifier.get("system") != system or "value" not in identifier:
        return None
    return str(identifier["value"])


def _date(value: str) -> str:
    # A dateTime's day is the consent's day: Caselink keeps consent periods as dates.
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise Missing(
            "the Consent's period needs full dates", expression="Consent.provision.period"
        ) from None
