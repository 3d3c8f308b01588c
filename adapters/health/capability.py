"""The CapabilityStatement `GET /fhir/metadata` answers: what this endpoint supports (pure)."""

from adapters.health.resources import Json
from adapters.health.vocabulary import AGENCY_SYSTEM

STATUS_RULES = (
    "Task.status uses base FHIR R4 codes; who may set which follows the SDOH Clinical Care "
    "referral guide (TaskForReferralManagement): the requester sets requested and "
    "cancelled, the performer accepted, rejected (with statusReason; a redirect adds "
    "businessStatus redirected), in-progress after accepted (with an output whose "
    "valueString is the plan: Caselink's planned, which meets the outcome deadline) and "
    "completed (with an output). Caselink departs from the guide in one place: a referral "
    "received here shows status `received`, which the guide excludes, until the hospital "
    "answers it, because Caselink's gateway acknowledges receipt automatically. on-hold, "
    "failed and entered-in-error have no Caselink stage and are refused (422); so is a "
    "performer's cancelled (only the sender withdraws in Caselink)."
)
SHAPE = (
    "A referral is a Task (owner: an Organization identified by system "
    f"{AGENCY_SYSTEM} and the Caselink agency id) with its ServiceRequest, Patient and "
    "PractitionerRole: entries of a transaction Bundle (POST [base] or [base]/Bundle), or "
    "contained in a Task (POST [base]/Task). A Consent, cited by "
    "ServiceRequest.supportingInfo, is recorded before the referral is sent. Tasks are read "
    "whole, their resources contained: Patient, ServiceRequest and Consent are not served "
    "on their own. Referrals this hospital sent are read without their content (sealed to "
    "the recipient), with the status the recipient's answers gave them."
)


def capability_statement(*, date: str, base: str) -> Json:
    """The statement for the endpoint at `base`, dated `date` (a FHIR dateTime)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "Caselink",
        "kind": "instance",
        "implementation": {"description": "Caselink gateway, health adapter", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": f"{SHAPE} {STATUS_RULES}",
                "security": {
                    "description": "A Bearer token of a system user in the gateway's users "
                    "file (HTTP Basic for people); checked before the body is read."
                },
                "resource": [
                    {
                        "type": "Task",
                        "documentation": STATUS_RULES,
                        "interaction": [
                            {"code": "read"},
                            {"code": "create"},
                            {"code": "update"},
                            {"code": "search-type"},
                        ],
                        "versioning": "no-version",
                        "readHistory": False,
                        "updateCreate": False,
                        "conditionalCreate": False,
                        "conditionalUpdate": False,
                        "conditionalDelete": "not-supported",
                        "searchParam": [
                            {
                                "name": "status",
                                "type": "token",
                                "documentation": "comma-separated codes: any of them",
                            },
                            {
                                "name": "_lastUpdated",
                                "type": "date",
                                "documentation": "prefixes gt, ge, lt, le; repeat for a range",
                            },
                            {"name": "_count", "type": "number"},
                        ],
                    }
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }
