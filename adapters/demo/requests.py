"""The agencies' systems' requests in the scenario: the adapters' samples, dated today and
pointed at the demo's agencies (the samples are fixed in time for the tests)."""

import copy
import datetime
from typing import Any

from adapters.health.sample import AUTHORISER_URL, sample_bundle
from adapters.health.vocabulary import AGENCY_KIND_SYSTEM, CONSENT_SYSTEM, EXT_URGENCY

Resource = dict[str, Any]


def _resources(bundle: Resource, kind: str) -> list[Resource]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def hospital_referral(
    recipient: str, *, consent_id: str | None = None, any_social_services: bool = False
) -> Resource:
    """The hospital's transaction Bundle to `recipient`, its Consent in date from today.

    `consent_id` names the Consent (the same id in two Bundles is one consent, recorded once);
    `any_social_services` makes it cover every social-services agency, not only `recipient`.
    """
    bundle = copy.deepcopy(sample_bundle(recipient))
    today = datetime.datetime.now(datetime.UTC).date()
    for consent in _resources(bundle, "Consent"):
        consent["dateTime"] = f"{today.isoformat()}T08:00:00Z"
        consent["provision"]["period"] = {
            "start": today.isoformat(),
            "end": (today + datetime.timedelta(days=365)).isoformat(),
        }
        if consent_id is not None:
            consent["identifier"] = [{"system": CONSENT_SYSTEM, "value": consent_id}]
        if any_social_services:
            for actor in consent["provision"]["actor"]:
                actor["reference"] = {
                    "identifier": {"system": AGENCY_KIND_SYSTEM, "value": "social_services"}
                }
    return bundle


def hospital_referral_citing(recipient: str, consent_id: str) -> Resource:
    """The hospital's Bundle to `recipient` citing the recorded consent `consent_id` by its
    identifier, without the Consent itself (as a later referral under it would)."""
    bundle = copy.deepcopy(sample_bundle(recipient))
    cited = {"Consent", "RelatedPerson"}
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] not in cited]
    for request in _resources(bundle, "ServiceRequest"):
        request["supportingInfo"] = [
            {"identifier": {"system": CONSENT_SYSTEM, "value": consent_id}}
        ]
    return bundle


def hospital_emergency_without_consent(recipient: str, authorised_by: str) -> Resource:
    """An emergency referral shared without consent under the child-protection basis,
    authorised by the hospital's supervisor `authorised_by` (their display name)."""
    bundle = copy.deepcopy(sample_bundle(recipient, with_consent=False))
    for task in _resources(bundle, "Task"):
        task["priority"] = "stat"
        for extension in task["extension"]:
            if extension["url"] == EXT_URGENCY:
                extension["valueCode"] = "emergency"
    for entry in bundle["entry"]:
        if entry["fullUrl"] == AUTHORISER_URL:
            entry["resource"]["practitioner"]["display"] = authorised_by
    return bundle
