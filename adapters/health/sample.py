"""A realistic, obviously synthetic FHIR referral from a hospital's One-Stop Crisis Centre.

For the benchmark, the demo and the tests: written out by hand as a hospital system would
send it (not built from Caselink's models), so tests that map it check the mapping against
an independent input. Names and numbers are invented (555 numbers, `.example` mail).
"""

from typing import Any

from adapters.health.vocabulary import (
    AGENCY_SYSTEM,
    CONSENT_RELATION,
    DATA_CATEGORY,
    EXT_PARENTAL_RESPONSIBILITY,
    EXT_RISK_LEVEL,
    EXT_SHARING_WITHOUT_CONSENT,
    EXT_URGENCY,
    GUARDIAN_RELATION,
    PURPOSE,
    REASON_CATEGORY,
    REQUESTED_SERVICE,
    TASK_CODE,
)

PATIENT_URL = "urn:uuid:7f1c2a9e-4b1d-4f7a-9a52-1d6a3c0e5b01"
SERVICE_REQUEST_URL = "urn:uuid:2b8e6f3c-9d4a-4c1e-8f27-5a0b7d9e1c02"
TASK_URL = "urn:uuid:9c3d5e7f-1a2b-4c3d-8e4f-6a7b8c9d0e03"
CONSENT_URL = "urn:uuid:4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a04"
REQUESTER_URL = "urn:uuid:5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c05"
MOTHER_URL = "urn:uuid:6b7c8d9e-0f1a-4b2c-9d3e-4f5a6b7c8d06"
AUTHORISER_URL = "urn:uuid:7c8d9e0f-1a2b-4c3d-8e4f-5a6b7c8d9e07"
NARRATIVE = (
    "Synthetic example. Child seen at the One-Stop Crisis Centre after disclosure to a "
    "school nurse. Injuries consistent with the account given; examined, treated and "
    "discharged to the mother, who is supportive. Request an assessment of the home."
)


def sample_bundle(
    recipient: str = "social-east",
    *,
    with_consent: bool = True,
    authored_on: str = "2025-03-01T09:30:00Z",
) -> dict[str, Any]:
    """A transaction Bundle: Patient, PractitionerRole, ServiceRequest, Task to `recipient`,
    and, `with_consent`, the mother's Consent and RelatedPerson; without it, the Task
    declares sharing without consent (child protection, authorised by a supervisor)."""
    entries = [_entry(PATIENT_URL, _patient()), _entry(REQUESTER_URL, _requester())]
    service = _service_request(authored_on)
    task = _task(recipient, authored_on)
    if with_consent:
        service["supportingInfo"] = [{"reference": CONSENT_URL}]
        entries += [
            _entry(MOTHER_URL, _mother()),
            _entry(CONSENT_URL, _consent(recipient, authored_on)),
        ]
    else:
        entries.append(_entry(AUTHORISER_URL, _authoriser()))
        task["extension"].append(_without_consent())
    entries += [_entry(SERVICE_REQUEST_URL, service), _entry(TASK_URL, task)]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def sample_task(recipient: str = "social-east") -> dict[str, Any]:
    """The same referral as one Task with the rest contained (no consent: sharing under
    the child-protection basis), for `POST /fhir/Task`."""
    bundle = sample_bundle(recipient, with_consent=False)
    by_url = {entry["fullUrl"]: entry["resource"] for entry in bundle["entry"]}
    local = {
        PATIENT_URL: "patient",
        SERVICE_REQUEST_URL: "sr",
        REQUESTER_URL: "requester",
        AUTHORISER_URL: "authoriser",
    }
    contained = [{**_local(by_url[url], local), "id": name} for url, name in local.items()]
    task: dict[str, Any] = _local(by_url[TASK_URL], local)
    task["contained"] = contained
    return task


def _local(value: Any, names: dict[str, str]) -> Any:
    # The Bundle's references to entries, made references to contained resources.
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str) and value["reference"] in names:
            return {**value, "reference": f"#{names[value['reference']]}"}
        return {key: _local(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_local(item, names) for item in value]
    return value


def _entry(url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "https://hospital.example/mrn", "value": "MRN-5550123"}],
        "name": [
            {"use": "official", "family": "Example", "given": ["Amira", "Jane"]},
            {"use": "nickname", "text": "Mira"},
        ],
        "gender": "female",
        "birthDate": "2014-05-02",
        "address": [
            {
                "line": ["12 Sample Road", "Flat 3"],
                "city": "Testville",
                "postalCode": "ZZ9 9ZZ",
                "country": "GB",
            }
        ],
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "ar"}]}},
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en"}]}},
        ],
        "contact": [
            {
                "extension": [{"url": EXT_PARENTAL_RESPONSIBILITY, "valueBoolean": True}],
                "relationship": [{"coding": [{"system": GUARDIAN_RELATION, "code": "mother"}]}],
                "name": {"text": "Layla Example"},
                "telecom": [{"system": "phone", "value": "+44 5550 000201"}],
            }
        ],
    }


def _requester() -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "practitioner": {"display": "Dr Test Clinician"},
        "code": [{"text": "Paediatrician, One-Stop Crisis Centre"}],
        "telecom": [
            {"system": "phone", "value": "+44 5550 000300"},
            {"system": "email", "value": "oscc@hospital.example"},
        ],
    }


def _authoriser() -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "practitioner": {"display": "Sam Supervisor"},
        "code": [{"text": "Named doctor for safeguarding"}],
    }


def _mother() -> dict[str, Any]:
    return {
        "resourceType": "RelatedPerson",
        "patient": {"reference": PATIENT_URL},
        "relationship": [{"coding": [{"system": CONSENT_RELATION, "code": "parent"}]}],
        "name": [{"text": "Layla Example"}],
    }


def _service_request(authored_on: str) -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "extension": [{"url": EXT_RISK_LEVEL, "valueCode": "high"}],
        "status": "active",
        "intent": "order",
        "priority": "urgent",
        "code": {
            "coding": [{"system": REQUESTED_SERVICE, "code": "assessment"}],
            "text": "Home assessment by the duty team",
        },
        "subject": {"reference": PATIENT_URL},
        "authoredOn": authored_on,
        "requester": {"reference": REQUESTER_URL},
        "reasonCode": [
            {"coding": [{"system": REASON_CATEGORY, "code": "physical_abuse"}]},
            {"coding": [{"system": REASON_CATEGORY, "code": "domestic_violence_exposure"}]},
        ],
        "note": [{"text": NARRATIVE}],
    }


def _task(recipient: str, authored_on: str) -> dict[str, Any]:
    return {
        "resourceType": "Task",
        "extension": [{"url": EXT_URGENCY, "valueCode": "high"}],
        "status": "requested",
        "intent": "order",
        "priority": "urgent",
        "code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]},
        "focus": {"reference": SERVICE_REQUEST_URL},
        "for": {"reference": PATIENT_URL},
        "authoredOn": authored_on,
        "requester": {"reference": REQUESTER_URL},
        "owner": {"identifier": {"system": AGENCY_SYSTEM, "value": recipient}},
    }


def _consent(recipient: str, authored_on: str) -> dict[str, Any]:
    return {
        "resourceType": "Consent",
        "status": "active",
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IDSCL"}
                ]
            }
        ],
        "patient": {"reference": PATIENT_URL},
        "dateTime": authored_on,
        "performer": [{"reference": MOTHER_URL}],
        "policyRule": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentpolicycodes",
                    "code": "cric",
                }
            ]
        },
        "provision": {
            "type": "permit",
            # Long enough for the demo and the benchmark, which send it today.
            "period": {"start": authored_on[:10], "end": "2030-02-28"},
            "actor": [
                {
                    "role": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                "code": "IRCP",
                            }
                        ]
                    },
                    "reference": {"identifier": {"system": AGENCY_SYSTEM, "value": recipient}},
                }
            ],
            "purpose": [{"system": PURPOSE, "code": "assessment"}],
            "code": [
                {"coding": [{"system": DATA_CATEGORY, "code": "identity"}]},
                {"coding": [{"system": DATA_CATEGORY, "code": "health"}]},
            ],
        },
    }


def _without_consent() -> dict[str, Any]:
    return {
        "url": EXT_SHARING_WITHOUT_CONSENT,
        "extension": [
            {"url": "basis", "valueCode": "child_protection_significant_harm"},
            {
                "url": "justification",
                "valueString": "Disclosure of harm at home; informing the mother first "
                "could put the child at further risk.",
            },
            {"url": "authorisedBy", "valueReference": {"reference": AUTHORISER_URL}},
        ],
    }
