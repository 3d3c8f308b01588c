"""The identifier systems, code systems and extensions the health adapter speaks (pure).

Everything Caselink-specific lives under one base, `CASELINK`. The agency a Task is for is
an Organization reference by identifier, system `AGENCY_SYSTEM`, value the Caselink agency
id (`social-east`). Caselink's closed vocabularies (reasons, services, outcomes...) travel
as codings whose code is the enum's value, in a code system named after the enum; standard
FHIR codes are used where FHIR has them (gender, request priority, task code, consent
category).
"""

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from schemas.kinds import Urgency

CASELINK = "https://caselink.example/fhir"

AGENCY_SYSTEM = f"{CASELINK}/sid/agency"
"""Organization.identifier.system whose value is a Caselink agency id."""
AGENCY_KIND_SYSTEM = f"{CASELINK}/sid/agency-kind"
"""Consent actor by kind of agency: identifier value `social_services`, `police`..."""
CONSENT_SYSTEM = f"{CASELINK}/sid/consent"
"""Consent.identifier and ServiceRequest.supportingInfo identifier: the Caselink consent id."""
THREAD_SYSTEM = f"{CASELINK}/sid/thread"
"""Task.identifier: the Caselink thread id (the Task's own id is the message id)."""


def code_system(name: str) -> str:
    """The code system of one Caselink vocabulary: `reason-category`, `outcome`..."""
    return f"{CASELINK}/CodeSystem/{name}"


def extension(name: str) -> str:
    """The canonical URL of one Caselink extension."""
    return f"{CASELINK}/StructureDefinition/{name}"


REASON_CATEGORY = code_system("reason-category")
REQUESTED_SERVICE = code_system("requested-service")
GUARDIAN_RELATION = code_system("guardian-relation")
CONSENT_RELATION = code_system("consent-relation")
PURPOSE = code_system("purpose")
DATA_CATEGORY = code_system("data-category")
ACK_REASON = code_system("ack-reason")
OUTCOME = code_system("outcome")
BUSINESS_STATUS = code_system("business-status")
INPUT_TYPE = code_system("task-input")
REFUSAL_REASON = code_system("refusal-reason")  # OperationOutcome.issue.details: a reason slug

EXT_RISK_LEVEL = extension("risk-level")  # ServiceRequest: valueCode
EXT_URGENCY = extension("urgency")  # Task: valueCode, exact where priority is coarser
EXT_ESTIMATED_AGE = extension("estimated-age")  # Patient: valueAge in years
EXT_PARENTAL_RESPONSIBILITY = extension("parental-responsibility")  # Patient.contact
EXT_SHARING_WITHOUT_CONSENT = extension("sharing-without-consent")  # Task, complex
EXT_REDIRECTED_TO = extension("redirected-to")  # Task: valueReference (Organization)

TASK_CODE = "http://hl7.org/fhir/CodeSystem/task-code"
BCP47 = "urn:ietf:bcp:47"
UCUM = "http://unitsofmeasure.org"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_POLICY = "http://terminology.hl7.org/CodeSystem/consentpolicycodes"

# Request priority (routine < urgent < asap < stat) is coarser than Caselink's urgency at the
# low end: the exact urgency also travels in EXT_URGENCY, which wins when present.
PRIORITY_OF: Mapping[Urgency, str] = MappingProxyType(
    {
        Urgency.EMERGENCY: "stat",
        Urgency.HIGH: "urgent",
        Urgency.NORMAL: "routine",
        Urgency.LOW: "routine",
    }
)
URGENCY_OF_PRIORITY: Mapping[str, Urgency] = MappingProxyType(
    {
        "stat": Urgency.EMERGENCY,
        "asap": Urgency.HIGH,
        "urgent": Urgency.HIGH,
        "routine": Urgency.NORMAL,
    }
)

# v3 RoleCode relations a hospital may send for the person consenting.
V3_CONSENT_RELATIONS: Mapping[str, str] = MappingProxyType(
    {
        "ONESELF": "self",
        "MTH": "parent",
        "FTH": "parent",
        "PRN": "parent",
        "NMTH": "parent",
        "NFTH": "parent",
        "GUARD": "guardian",
    }
)


class TaskStatus(StrEnum):
    """Base FHIR R4 Task.status, all of it (broker.lifecycle.FhirTaskStatus is the part
    Caselink's stages map to)."""

    DRAFT = "draft"
    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    READY = "ready"
    CANCELLED = "cancelled"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    FAILED = "failed"
    COMPLETED = "completed"
    ENTERED_IN_ERROR = "entered-in-error"


# SDOH Clinical Care, TaskForReferralManagement: who may set which status. `received` and
# `ready` are outside its value set; Caselink's gateway sets `received` itself on receipt.
REQUESTER_SETS = frozenset(
    {TaskStatus.DRAFT, TaskStatus.REQUESTED, TaskStatus.CANCELLED, TaskStatus.ENTERED_IN_ERROR}
)
PERFORMER_SETS = frozenset(
    {
        TaskStatus.ACCEPTED,
        TaskStatus.REJECTED,
        TaskStatus.IN_PROGRESS,
        TaskStatus.ON_HOLD,
        TaskStatus.COMPLETED,
        TaskStatus.FAILED,
        TaskStatus.CANCELLED,
    }
)
OUTSIDE_SDOH = frozenset({TaskStatus.RECEIVED, TaskStatus.READY})
