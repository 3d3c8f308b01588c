"""A FHIR referral (Task + ServiceRequest + Patient, and a Consent) <-> a Caselink referral.

Pure. Inbound, `task_to_referral` reads a validated Task and the resources it references
(contained in it, or entries of its transaction Bundle) and builds the canonical Referral,
plus the canonical Consent when one is given; everything is mapped and validated before the
edge sends anything. Outbound, `referral_to_task` builds the Task a hospital reads: the
ServiceRequest, Patient and PractitionerRoles contained in it (`#service-request`,
`#patient`, `#requester`, `#authoriser`), so a Task read alone is whole, and is the same
shape a hospital may post to `POST /fhir/Task`.

Where things go:

    Task.owner                 Organization, identifier AGENCY_SYSTEM = the recipient agency
    Task.for / focus           the Patient (subject) / the ServiceRequest
    Task.requester             PractitionerRole: practitioner.display, code[0].text,
                               telecom = referring_worker
    Task.priority              request priority from urgency; EXT_URGENCY carries it exactly
    Task.extension             EXT_SHARING_WITHOUT_CONSENT: basis, justification,
                               authorisedBy (a PractitionerRole): a lawful basis instead of
                               a consent
    Task.input                 attachments (type INPUT_TYPE#attachment, text = description)
    ServiceRequest.code        requested_service (REQUESTED_SERVICE), text = its detail
    ServiceRequest.reasonCode  reason_categories (REASON_CATEGORY)
    ServiceRequest.note        narrative
    ServiceRequest.extension   EXT_RISK_LEVEL: risk_level
    ServiceRequest.supportingInfo  the Consent (a resource in the request, or an identifier
                               CONSENT_SYSTEM naming a consent recorded before)
"""

from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from adapters.health.consents import fhir_consent_to_canonical
from adapters.health.outcome import Missing, NotSupported, RuleBroken, WrongRules
from adapters.health.people import (
    patient_to_subject,
    role_to_worker,
    subject_to_patient,
    worker_to_role,
)
from adapters.health.resources import (
    Json,
    Resources,
    agency_reference,
    codes,
    concept,
    extension_value,
    extensions,
    identifier_value,
)
from adapters.health.times import instant
from adapters.health.vocabulary import (
    AGENCY_SYSTEM,
    CONSENT_SYSTEM,
    EXT_RISK_LEVEL,
    EXT_SHARING_WITHOUT_CONSENT,
    EXT_URGENCY,
    INPUT_TYPE,
    PRIORITY_OF,
    REASON_CATEGORY,
    REQUESTED_SERVICE,
    TASK_CODE,
    THREAD_SYSTEM,
    URGENCY_OF_PRIORITY,
)
from schemas.consent import Consent
from schemas.kinds import Urgency
from schemas.referral import Referral

PATIENT_ID = "patient"
SERVICE_REQUEST_ID = "service-request"
REQUESTER_ID = "requester"
AUTHORISER_ID = "authoriser"


@dataclass(frozen=True)
class InboundReferral:
    """What a posted Task asks: a referral to `recipient`, and the consent it cites if
    the request carried one (to record before the referral is sent)."""

    recipient: str
    referral: Referral
    consent: Consent | None


def task_to_referral(task: Json, resources: Resources, *, new_consent_id: str) -> InboundReferral:
    """The referral a new Task asks for; raises the 422 refusals of `outcome`.

    `new_consent_id` names a Consent that carries no Caselink consent identifier.
    """
    status = task.get("status")
    if status == "draft":
        raise NotSupported(
            "a draft Task is not sent: post it as requested", expression="Task.status"
        )
    if status != "requested":
        raise RuleBroken("a new referral's Task has status requested", expression="Task.status")
    if task.get("intent") != "order":
        raise RuleBroken("a referral's Task has intent order", expression="Task.intent")
    recipient = identifier_value(task.get("owner"), AGENCY_SYSTEM)
    if recipient is None:
        raise Missing(
            f"Task.owner must name the receiving agency: an identifier of system {AGENCY_SYSTEM}",
            expression="Task.owner",
        )
    patient = resources.get(task.get("for"), "Patient", "Task.for")
    service = resources.get(task.get("focus"), "ServiceRequest", "Task.focus")
    if "subject" in service and resources.find(service["subject"]) is not patient:
        raise RuleBroken(
            "the ServiceRequest's subject must be the Task's Patient",
            expression="ServiceRequest.subject",
        )
    requester = resources.get(
        task.get("requester") or service.get("requester"), "PractitionerRole", "Task.requester"
    )
    subject = patient_to_subject(patient)
    worker = role_to_worker(requester, "Task.requester")
    body: dict[str, Any] = {
        "subject": subject,
        "reason_categories": codes(service.get("reasonCode", []), REASON_CATEGORY),
        "risk_level": extension_value(service, EXT_RISK_LEVEL, "valueCode"),
        "urgency": _urgency(task, service),
        "requested_service": _service(service),
        "narrative": "\n\n".join(n["text"] for n in service.get("note", [])) or None,
        "referring_worker": worker,
        "attachments": _attachments(task),
        **_without_consent(task, resources),
    }
    if (detail := (service.get("code") or {}).get("text")) is not None:
        body["requested_service_detail"] = detail
    consent: Consent | None = None
    cited = _cited_consent(service, resources)
    if isinstance(cited, dict):
        consent = _validated(
            Consent,
            fhir_consent_to_canonical(
                cited, resources, subject=subject, recorded_by=worker, new_id=new_consent_id
            ),
            "consent",
        )
        _check_consent_patient(cited, resources, patient)
        body["consent_ref"] = consent.consent_id
    elif cited is not None:
        body["consent_ref"] = cited
    return InboundReferral(recipient, _validated(Referral, body, "referral"), consent)


@dataclass(frozen=True)
class TaskFacts:
    """What a Task shows besides the referral's content: ids, status, parties, times.

    `task_id` is the referral's message id, `owner` the recipient agency, `sender` the
    requesting one; times are Unix seconds.
    """

    task_id: str
    thread_id: str
    status: str
    owner: str
    sender: str
    authored_on: float
    last_updated: float


def referral_to_task(referral: Referral, facts: TaskFacts) -> Json:
    """The Task (ServiceRequest, Patient and PractitionerRoles contained) of a referral."""
    task = bare_task(facts)
    sender_reference = agency_reference(facts.sender)
    contained = [
        subject_to_patient(referral.subject, PATIENT_ID),
        _service_request(referral),
        worker_to_role(referral.referring_worker, REQUESTER_ID, sender_reference),
    ]
    extension: list[Json] = [{"url": EXT_URGENCY, "valueCode": referral.urgency.value}]
    if referral.lawful_basis is not None and referral.authorised_by is not None:
        contained.append(worker_to_role(referral.authorised_by, AUTHORISER_ID, sender_reference))
        extension.append(
            {
                "url": EXT_SHARING_WITHOUT_CONSENT,
                "extension": [
                    {"url": "basis", "valueCode": referral.lawful_basis.value},
                    {"url": "justification", "valueString": referral.justification},
                    {"url": "authorisedBy", "valueReference": {"reference": f"#{AUTHORISER_ID}"}},
                ],
            }
        )
    task.update(
        {
            "contained": contained,
            "extension": extension,
            "priority": PRIORITY_OF[referral.urgency],
            "focus": {"reference": f"#{SERVICE_REQUEST_ID}"},
            "for": {"reference": f"#{PATIENT_ID}"},
            "requester": {"reference": f"#{REQUESTER_ID}"},
        }
    )
    if referral.attachments:
        task["input"] = [
            {
                "type": {**concept(INPUT_TYPE, "attachment"), **_text(a.description)},
                "valueAttachment": {
                    "contentType": a.content_type,
                    "data": a.model_dump(mode="json")["data"],
                    "title": a.filename,
                },
            }
            for a in referral.attachments
        ]
    return task


def bare_task(facts: TaskFacts) -> Json:
    """A referral's Task without its content: ids, status, owner, requester, times.

    What a hospital reads of a referral it sent (the body is sealed to the recipient and
    this gateway cannot open it) or of one whose body was erased.
    """
    return {
        "resourceType": "Task",
        "id": facts.task_id,
        "meta": {"lastUpdated": instant(facts.last_updated)},
        "identifier": [{"system": THREAD_SYSTEM, "value": facts.thread_id}],
        "status": facts.status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_CODE, "code": "fulfill"}]},
        "authoredOn": instant(facts.authored_on),
        "lastModified": instant(facts.last_updated),
        "requester": agency_reference(facts.sender),
        "owner": agency_reference(facts.owner),
    }


def _service_request(referral: Referral) -> Json:
    service: Json = {
        "resourceType": "ServiceRequest",
        "id": SERVICE_REQUEST_ID,
        "extension": [{"url": EXT_RISK_LEVEL, "valueCode": referral.risk_level.value}],
        "status": "active",
        "intent": "order",
        "priority": PRIORITY_OF[referral.urgency],
        "code": concept(
            REQUESTED_SERVICE, referral.requested_service.value, referral.requested_service_detail
        ),
        "subject": {"reference": f"#{PATIENT_ID}"},
        "requester": {"reference": f"#{REQUESTER_ID}"},
        "reasonCode": [concept(REASON_CATEGORY, r.value) for r in referral.reason_categories],
        "note": [{"text": referral.narrative}],
    }
    if referral.consent_ref is not None:
        service["supportingInfo"] = [
            {
                "type": "Consent",
                "identifier": {"system": CONSENT_SYSTEM, "value": referral.consent_ref},
            }
        ]
    return service


def _text(value: str | None) -> Json:
    return {} if value is None else {"text": value}


def _urgency(task: Json, service: Json) -> str:
    exact = extension_value(task, EXT_URGENCY, "valueCode")
    if exact is not None:
        return str(exact)
    priority = task.get("priority") or service.get("priority") or "routine"
    return URGENCY_OF_PRIORITY.get(priority, Urgency.NORMAL).value


def _service(service: Json) -> str:
    found = codes(service.get("code"), REQUESTED_SERVICE)
    if not found:
        raise Missing(
            f"ServiceRequest.code needs a coding of {REQUESTED_SERVICE}",
            expression="ServiceRequest.code",
        )
    return found[0]


def _attachments(task: Json) -> list[dict[str, Any]]:
    found = []
    for item in task.get("input", []):
        if "attachment" not in codes(item.get("type"), INPUT_TYPE):
            continue
        value = item.get("valueAttachment") or {}
        found.append(
            {
                "content_type": value.get("contentType"),
                "filename": value.get("title"),
                "data": value.get("data"),
                **({"description": item["type"]["text"]} if "text" in item["type"] else {}),
            }
        )
    return found


def _without_consent(task: Json, resources: Resources) -> dict[str, Any]:
    found = extensions(task, EXT_SHARING_WITHOUT_CONSENT)
    if not found:
        return {}
    parts = {part.get("url"): part for part in found[0].get("extension", [])}
    where = "Task.extension"
    authoriser = resources.get(
        (parts.get("authorisedBy") or {}).get("valueReference"), "PractitionerRole", where
    )
    return {
        "lawful_basis": (parts.get("basis") or {}).get("valueCode"),
        "justification": (parts.get("justification") or {}).get("valueString"),
        "authorised_by": role_to_worker(authoriser, where),
    }


def _cited_consent(service: Json, resources: Resources) -> Json | str | None:
    # A Consent in the request, or the id of one recorded before (identifier only).
    for info in service.get("supportingInfo", []):
        found = resources.find(info)
        if found is not None and found.get("resourceType") == "Consent":
            return found
        recorded = identifier_value(info, CONSENT_SYSTEM)
        if recorded is not None:
            return recorded
    return None


def _check_consent_patient(consent: Json, resources: Resources, patient: Json) -> None:
    if resources.find(consent.get("patient")) is not patient:
        raise RuleBroken(
            "the Consent must be about the Task's Patient", expression="Consent.patient"
        )


ModelT = TypeVar("ModelT", bound=BaseModel)


def _validated(model: type[ModelT], data: dict[str, Any], what: str) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise WrongRules(what, error.errors(include_input=False)) from None
