"""Transaction Bundles in, transaction-response and searchset Bundles out (pure).

A transaction carries one referral: exactly one Task, the resources it references
(Patient, ServiceRequest, PractitionerRole, and a Consent with its RelatedPerson where
given), every entry a POST. It is all or nothing, as FHIR requires: the whole Bundle is
mapped and checked before anything is sent, and a refusal answers one OperationOutcome.
"""

from collections.abc import Sequence

from adapters.health.outcome import NotSupported, RuleBroken
from adapters.health.resources import Json

ENTRY_TYPES = frozenset(
    {"Task", "Patient", "ServiceRequest", "PractitionerRole", "Consent", "RelatedPerson"}
)


def transaction_entries(
    bundle: Json, *, max_entries: int
) -> tuple[Json, list[tuple[str | None, Json]]]:
    """The Task of a validated transaction Bundle and every entry as (fullUrl, resource).

    Raises NotSupported (another Bundle type, a method other than POST, a resource type
    a referral does not use) and RuleBroken (not one Task, too many entries, not one
    Consent at most).
    """
    if bundle.get("type") != "transaction":
        raise NotSupported("only transaction Bundles are taken", expression="Bundle.type")
    entries = bundle.get("entry", [])
    if len(entries) > max_entries:
        raise RuleBroken(f"a referral Bundle holds at most {max_entries} entries")
    found: list[tuple[str | None, Json]] = []
    for index, entry in enumerate(entries):
        where = f"Bundle.entry[{index}]"
        resource = entry.get("resource")
        if resource is None or resource["resourceType"] not in ENTRY_TYPES:
            raise NotSupported(
                "a referral Bundle holds Task, Patient, ServiceRequest, PractitionerRole, "
                "Consent and RelatedPerson resources",
                expression=f"{where}.resource",
            )
        if (entry.get("request") or {}).get("method") != "POST":
            raise NotSupported("every entry of the transaction is a POST", expression=where)
        found.append((entry.get("fullUrl"), resource))
    tasks = [resource for _, resource in found if resource["resourceType"] == "Task"]
    if len(tasks) != 1:
        raise RuleBroken("a referral Bundle holds exactly one Task", expression="Bundle.entry")
    if sum(resource["resourceType"] == "Consent" for _, resource in found) > 1:
        raise RuleBroken("a referral Bundle holds one Consent at most", expression="Bundle.entry")
    return tasks[0], found


def transaction_response(entries: Sequence[tuple[str | None, Json]], task_location: str) -> Json:
    """The transaction-response: one entry per request entry, in order; the Task's with
    its Location. The other resources live on inside the Task (contained when read)."""
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            {
                "response": {
                    "status": "201 Created",
                    **({"location": task_location} if resource["resourceType"] == "Task" else {}),
                }
            }
            for _, resource in entries
        ],
    }


def searchset(tasks: Sequence[Json], *, base: str, self_link: str) -> Json:
    """A searchset Bundle of `tasks` (each whole, its resources contained)."""
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "self", "url": self_link}],
        "entry": [
            {
                "fullUrl": f"{base}/Task/{task['id']}",
                "resource": task,
                "search": {"mode": "match"},
            }
            for task in tasks
        ],
    }


def consent_uncited(entries: Sequence[tuple[str | None, Json]], cited: bool) -> None:
    """Refuse a Consent in the Bundle that the ServiceRequest does not cite: it would be
    recorded for nothing, or the referral sent without the consent meant for it."""
    if not cited and any(r["resourceType"] == "Consent" for _, r in entries):
        raise RuleBroken(
            "the Bundle's Consent must be cited by ServiceRequest.supportingInfo",
            expression="ServiceRequest.supportingInfo",
        )
