"""The child and the practitioners: Patient <-> Subject, PractitionerRole <-> Worker (pure).

The inbound side builds plain dicts in the canonical shape; the caller validates the whole
referral once (`mapping.task_to_referral`), so a Caselink rule broken anywhere is reported
with its canonical path. A Patient's first `official` name (else its first) gives the given
and family names; its other given names and other names are `other_names`. An estimated age
rides in an extension, because FHIR's Patient has no place for one.
"""

from typing import Any

from adapters.health.outcome import Missing
from adapters.health.resources import Json, codes, extension_value
from adapters.health.vocabulary import (
    BCP47,
    EXT_ESTIMATED_AGE,
    EXT_PARENTAL_RESPONSIBILITY,
    GUARDIAN_RELATION,
    UCUM,
)
from schemas.common import Address, Guardian, Subject, Worker


def patient_to_subject(patient: Json, where: str = "Patient") -> dict[str, Any]:
    """The canonical subject of a Patient; raises Missing for a name or age it lacks."""
    names = patient.get("name", [])
    chosen = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if chosen is None or not chosen.get("given") or "family" not in chosen:
        raise Missing("the Patient needs a given and a family name", expression=f"{where}.name")
    others = [_name_text(n) for n in names if n is not chosen]
    subject: dict[str, Any] = {
        "given_name": chosen["given"][0],
        "family_name": chosen["family"],
        "other_names": [*chosen["given"][1:], *(o for o in others if o)],
        "sex": patient.get("gender", "unknown"),
        "languages": [
            code for c in patient.get("communication", []) for code in codes(c["language"], BCP47)
        ],
        "guardians": [_guardian(contact) for contact in patient.get("contact", [])],
    }
    birth = patient.get("birthDate")
    age = extension_value(patient, EXT_ESTIMATED_AGE, "valueAge")
    if birth is not None:
        if len(birth) != len("2014-05-02"):
            raise Missing("birthDate must be a full date", expression=f"{where}.birthDate")
        subject["birth_date"] = birth
    if age is not None:
        subject["estimated_age_years"] = age.get("value")
    if birth is None and age is None:
        raise Missing("the Patient needs a birthDate or an estimated age", expression=where)
    if patient.get("address"):
        subject["address"] = _address(patient["address"][0])
    return subject


def subject_to_patient(subject: Subject, resource_id: str) -> Json:
    """The Patient of a canonical subject, with id `resource_id`."""
    names: list[Json] = [
        {"use": "official", "family": subject.family_name, "given": [subject.given_name]}
    ]
    names += [{"use": "usual", "text": other} for other in subject.other_names]
    patient: Json = {
        "resourceType": "Patient",
        "id": resource_id,
        "name": names,
        "gender": subject.sex.value,
    }
    if subject.birth_date is not None:
        patient["birthDate"] = subject.birth_date.isoformat()
    if subject.estimated_age_years is not None:
        patient["extension"] = [
            {
                "url": EXT_ESTIMATED_AGE,
                "valueAge": {
                    "value": subject.estimated_age_years,
                    "unit": "a",
                    "system": UCUM,
                    "code": "a",
                },
            }
        ]
    if subject.languages:
        patient["communication"] = [
            {"language": {"coding": [{"system": BCP47, "code": code}]}}
            for code in subject.languages
        ]
    if subject.address is not None:
        patient["address"] = [_fhir_address(subject.address)]
    if subject.guardians:
        patient["contact"] = [_contact(guardian) for guardian in subject.guardians]
    return patient


def role_to_worker(role: Json, where: str) -> dict[str, Any]:
    """The canonical worker of a PractitionerRole: practitioner.display, code[0] text."""
    name = (role.get("practitioner") or {}).get("display")
    first_code = (role.get("code") or [{}])[0]
    title = first_code.get("text") or next(
        (c["display"] for c in first_code.get("coding", []) if "display" in c), None
    )
    if name is None or title is None:
        raise Missing(
            "the PractitionerRole needs practitioner.display and a code with text",
            expression=where,
        )
    return {"name": name, "role": title, **_telecom(role.get("telecom", []))}


def worker_to_role(worker: Worker, resource_id: str, agency: Json | None = None) -> Json:
    """The PractitionerRole of a canonical worker, of `agency` (an Organization reference)."""
    role: Json = {
        "resourceType": "PractitionerRole",
        "id": resource_id,
        "practitioner": {"display": worker.name},
        "code": [{"text": worker.role}],
    }
    if agency is not None:
        role["organization"] = agency
    telecom = _fhir_telecom(worker.phone, worker.email)
    if telecom:
        role["telecom"] = telecom
    return role


def _name_text(name: Json) -> str | None:
    if "text" in name:
        return str(name["text"])
    parts = [*name.get("given", []), *([name["family"]] if "family" in name else [])]
    return " ".join(parts) or None


def _telecom(points: list[Json]) -> dict[str, str]:
    found: dict[str, str] = {}
    for point in points:
        system, value = point.get("system"), point.get("value")
        if system in ("phone", "email") and value is not None:
            found.setdefault(system, value)
    return found


def _fhir_telecom(phone: str | None, email: str | None) -> list[Json]:
    points = [("phone", phone), ("email", email)]
    return [{"system": system, "value": value} for system, value in points if value is not None]


def _guardian(contact: Json) -> dict[str, Any]:
    relation = codes(contact.get("relationship", []), GUARDIAN_RELATION)
    return {
        "name": _name_text(contact.get("name") or {}),
        "relation": relation[0] if relation else "other",
        "parental_responsibility": bool(
            extension_value(contact, EXT_PARENTAL_RESPONSIBILITY, "valueBoolean")
        ),
        **_telecom(contact.get("telecom", [])),
    }


def _contact(guardian: Guardian) -> Json:
    contact: Json = {
        "extension": [
            {
                "url": EXT_PARENTAL_RESPONSIBILITY,
                "valueBoolean": guardian.parental_responsibility,
            }
        ],
        "relationship": [
            {"coding": [{"system": GUARDIAN_RELATION, "code": guardian.relation.value}]}
        ],
        "name": {"text": guardian.name},
    }
    telecom = _fhir_telecom(guardian.phone, guardian.email)
    if telecom:
        contact["telecom"] = telecom
    return contact


def _address(address: Json) -> dict[str, Any]:
    found: dict[str, Any] = {"lines": address.get("line", []), "country": address.get("country")}
    for fhir_key, key in (("city", "locality"), ("state", "region"), ("postalCode", "postal_code")):
        if fhir_key in address:
            found[key] = address[fhir_key]
    return found


def _fhir_address(address: Address) -> Json:
    found: Json = {"country": address.country}
    if address.lines:
        found["line"] = list(address.lines)
    for key, value in (
        ("city", address.locality),
        ("state", address.region),
        ("postalCode", address.postal_code),
    ):
        if value is not None:
            found[key] = value
    return found
