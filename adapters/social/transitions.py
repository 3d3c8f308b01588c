"""Primero's referral and transfer requests as Caselink bodies, and back (pure).

A transition request (`POST /api/v2/cases/:id/referrals`, `.../transfers`, or the bulk
`/api/v2/cases/referrals` with `ids`) becomes one Referral or Transfer per case; a
`PATCH` with `status` becomes an Acknowledgement. Statuses go back as Primero's:
`in_progress`, `accepted`, `rejected`, `done`, `revoked`.
"""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from adapters.social.cases import CaseFields, subject_of
from adapters.social.errors import invalid
from broker.gateway.lifecycle import stage as stage_of_state
from broker.gateway.records import InboxState
from broker.lifecycle import Stage
from schemas.acknowledgement import (
    Acknowledgement,
    AckReason,
    AckReasonCategory,
    Outcome,
    OutcomeCategory,
)
from schemas.common import Name, Narrative, SharingBasis, Text, Worker
from schemas.ids import AGENCY_ID_PATTERN
from schemas.kinds import AckStatus, MessageKind, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel
from schemas.transfer import Transfer, TransferReason

AgencyRef = Annotated[str, StringConstraints(max_length=64)]
MAX_BULK_IDS = 100
M = TypeVar("M", bound=BaseModel)


class Status(StrEnum):
    """Primero's transition statuses (the code's `in_progress`; its docs say `inprogress`)."""

    IN_PROGRESS = "in_progress"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DONE = "done"
    REVOKED = "revoked"


class TransitionRequest(BaseModel):
    """The fields Primero accepts on a referral or transfer; others are dropped, as there.

    `transfer_reason` is a Caselink addition (Primero's transfers carry none).
    """

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    transitioned_to: AgencyRef | None = None
    transitioned_to_agency: AgencyRef | None = None
    transitioned_to_remote: Name | None = None
    remote: bool = False
    service: Name | None = None
    service_record_id: Name | None = None
    notes: Narrative | None = None
    consent_overridden: bool = False
    consent_individual_transfer: bool | None = None
    transfer_reason: TransferReason | None = None


class BulkRequest(TransitionRequest):
    ids: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(min_length=1)]


class PatchRequest(BaseModel):
    """A `PATCH .../referrals/:rid` or `.../transfers/:tid` body's fields."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    status: str
    rejected_reason: Text | None = None
    rejection_note: Text | None = None


def parsed(model: type[M], data: object) -> M:
    """`data` as `model`; raises PrimeroError 422 naming the first field at fault."""
    if not isinstance(data, dict):
        raise invalid("data", "errors.api.bad_request")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        raise invalid(str(first["loc"][0]) if first["loc"] else "data") from None


def recipient_of(request: TransitionRequest) -> str:
    """The recipient agency: `transitioned_to_agency`, else `transitioned_to`.

    Primero sends to a user name; Caselink sends to an agency, so either field carries
    the agency id. A remote (external) transition has no agency here: refused.
    """
    if request.remote or request.transitioned_to_remote:
        raise invalid("remote", "transition.errors.remote_not_supported")
    agency = request.transitioned_to_agency or request.transitioned_to
    if agency is None or not _is_agency_id(agency):
        raise invalid("transitioned_to", "transition.errors.to_user_can_receive")
    return agency


def _is_agency_id(value: str) -> bool:
    return re.fullmatch(AGENCY_ID_PATTERN, value) is not None


# Primero's lookup-service-type ids differ per deployment; these are seeds' and common ones.
DEFAULT_SERVICES: Mapping[str, RequestedService] = {
    "health_medical_service": RequestedService.MEDICAL_EXAMINATION,
    "health": RequestedService.MEDICAL_EXAMINATION,
    "psychosocial_service": RequestedService.COUNSELLING,
    "mental_health_and_psychosocial_support": RequestedService.COUNSELLING,
    "safehouse_service": RequestedService.SHELTER,
    "security_e_g_safe_shelter": RequestedService.SHELTER,
    "alternative_care": RequestedService.SHELTER,
    "education_formal": RequestedService.EDUCATION_SUPPORT,
    "non_formal_education": RequestedService.EDUCATION_SUPPORT,
    "case_management_assessment": RequestedService.ASSESSMENT,
}
_SERVICE_OF: Mapping[RequestedService, str] = {
    RequestedService.ASSESSMENT: "case_management_assessment",
    RequestedService.MEDICAL_EXAMINATION: "health_medical_service",
    RequestedService.COUNSELLING: "psychosocial_service",
    RequestedService.SHELTER: "safehouse_service",
    RequestedService.EDUCATION_SUPPORT: "education_formal",
}
_CONCERNS: Mapping[str, ReasonCategory] = {
    "physical_abuse": ReasonCategory.PHYSICAL_ABUSE,
    "physically_abused": ReasonCategory.PHYSICAL_ABUSE,
    "neglect": ReasonCategory.NEGLECT,
    "neglected": ReasonCategory.NEGLECT,
    "sexual_abuse": ReasonCategory.SEXUAL_ABUSE,
    "sexually_abused": ReasonCategory.SEXUAL_ABUSE,
    "emotional_abuse": ReasonCategory.EMOTIONAL_ABUSE,
    "psychologically_abused": ReasonCategory.EMOTIONAL_ABUSE,
    "domestic_violence": ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE,
    "exploitation": ReasonCategory.EXPLOITATION,
    "sexually_exploited": ReasonCategory.EXPLOITATION,
    "child_labour": ReasonCategory.EXPLOITATION,
    "medical_condition": ReasonCategory.HEALTH_NEED,
    "disabled": ReasonCategory.HEALTH_NEED,
    "out_of_school": ReasonCategory.SCHOOL_ABSENCE,
}
_RISK: Mapping[str, RiskLevel] = {
    "low": RiskLevel.LOW,
    "medium": RiskLevel.MEDIUM,
    "high": RiskLevel.HIGH,
}
_URGENCY: Mapping[RiskLevel, Urgency] = {
    RiskLevel.LOW: Urgency.LOW,
    RiskLevel.MEDIUM: Urgency.NORMAL,
    RiskLevel.HIGH: Urgency.HIGH,
    RiskLevel.IMMEDIATE: Urgency.EMERGENCY,
}


def reasons_of(concerns: list[str]) -> list[ReasonCategory]:
    """Primero's `protection_concerns` as reason categories; unknown or none: `other`."""
    found = [_CONCERNS.get(concern, ReasonCategory.OTHER) for concern in concerns]
    found = list(dict.fromkeys(found))
    return found or [ReasonCategory.OTHER]


def service_of(
    service: str | None, services: Mapping[str, RequestedService]
) -> tuple[RequestedService, str | None]:
    """A service lookup id as (requested service, detail); unknown ids are `other` + the id."""
    if service is None:
        return RequestedService.ASSESSMENT, None
    known = services.get(service)
    return (known, None) if known is not None else (RequestedService.OTHER, service)


def primero_service(requested: RequestedService, detail: str | None) -> str | None:
    """The lookup id shown for a requested service: the detail for `other`."""
    if requested is RequestedService.OTHER:
        return detail
    return _SERVICE_OF.get(requested)


def referral_of(
    fields: CaseFields,
    request: TransitionRequest,
    *,
    basis: SharingBasis,
    by: Worker,
    services: Mapping[str, RequestedService],
) -> Referral:
    """A referral of the case `fields`, as `by` asked; raises PrimeroError 422 naming the field.

    Caselink needs what Primero's referral does not: the case's `risk_level` (urgency
    follows it; `urgent_protection_concern` makes it an emergency) and `notes` (the
    narrative the recipient reads).
    """
    subject = subject_of(fields)
    if fields.risk_level is None:
        raise invalid("risk_level", "errors.models.case.risk_level.required")
    if request.notes is None:
        raise invalid("notes", "errors.models.transition.notes.required")
    risk = _RISK[fields.risk_level]
    urgency = Urgency.EMERGENCY if fields.urgent_protection_concern else _URGENCY[risk]
    requested, detail = service_of(request.service, services)
    return Referral(
        subject=subject,
        reason_categories=reasons_of(fields.protection_concerns),
        risk_level=risk,
        urgency=urgency,
        requested_service=requested,
        requested_service_detail=detail,
        narrative=request.notes,
        referring_worker=by,
        consent_ref=basis.consent_ref,
        lawful_basis=basis.lawful_basis,
        justification=basis.justification,
        authorised_by=basis.authorised_by,
    )


_NOT_STATED = "Not stated: Primero transfers carry no reason."


def transfer_of(
    fields: CaseFields, request: TransitionRequest, *, basis: SharingBasis, by: Worker
) -> Transfer:
    """A transfer of the case `fields`; raises PrimeroError 422 naming the field.

    `notes` become the case summary (required); `transfer_reason`, a Caselink addition,
    defaults to `other` with a detail saying none was given.
    """
    subject = subject_of(fields)
    summary = request.notes or fields.summary
    if summary is None:
        raise invalid("notes", "errors.models.transition.notes.required")
    reason = request.transfer_reason or TransferReason.OTHER
    return Transfer(
        subject=subject,
        case_summary=summary,
        reason=reason,
        reason_detail=_NOT_STATED if reason is TransferReason.OTHER else None,
        transferring_worker=by,
        consent_ref=basis.consent_ref,
        lawful_basis=basis.lawful_basis,
        justification=basis.justification,
        authorised_by=basis.authorised_by,
    )


def answer_of(
    kind: MessageKind, patch: PatchRequest, message_id: str, by: Worker
) -> Acknowledgement:
    """A PATCH's `status` as the acknowledgement answering `message_id`.

    accepted; rejected (a `rejected_reason` is required: one of Caselink's reason
    categories, or free text filed as `other`); done (referrals only: completed, the
    `rejection_note` as the provider's note). Raises PrimeroError 422 naming the field.
    `revoked` is the sender's (DELETE), not an answer: refused here.
    """
    match patch.status:
        case Status.ACCEPTED:
            return Acknowledgement(status=AckStatus.ACCEPTED, answers=message_id, responded_by=by)
        case Status.REJECTED:
            if patch.rejected_reason is None:
                raise invalid("rejected_reason", "transition.errors.rejected_reason.required")
            return Acknowledgement(
                status=AckStatus.DECLINED,
                answers=message_id,
                reason=reason_of(patch.rejected_reason),
                responded_by=by,
                note=patch.rejection_note,
            )
        case Status.DONE if kind is MessageKind.REFERRAL:
            return Acknowledgement(
                status=AckStatus.COMPLETED,
                answers=message_id,
                outcome=Outcome(
                    category=OutcomeCategory.SERVICE_PROVIDED, text=patch.rejection_note
                ),
                responded_by=by,
            )
    raise invalid("status", "transition.errors.invalid_status")


def reason_of(rejected_reason: str) -> AckReason:
    """Primero's free-text `rejected_reason`: a category slug as itself, else `other` + text."""
    try:
        return AckReason(category=AckReasonCategory(rejected_reason))
    except ValueError:
        return AckReason(category=AckReasonCategory.OTHER, text=rejected_reason)


def rejected_reason_of(reason: AckReason | None) -> str | None:
    """The inverse of `reason_of`: the text, else the category slug."""
    if reason is None:
        return None
    return reason.text or reason.category.value


_FROM_STAGE: Mapping[Stage, Status] = {
    Stage.SENT: Status.IN_PROGRESS,
    Stage.DELIVERED: Status.IN_PROGRESS,
    Stage.ACCEPTED: Status.ACCEPTED,
    # Primero has no plan status: a plan recorded leaves the transition accepted, not done.
    Stage.PLANNED: Status.ACCEPTED,
    Stage.DECLINED: Status.REJECTED,
    Stage.REDIRECTED: Status.REJECTED,
    Stage.COMPLETED: Status.DONE,
    Stage.WITHDRAWN: Status.REVOKED,
}


def status_of_stage(stage: Stage | None) -> Status:
    """Primero's status for a lifecycle stage (a sent message's; none yet: in progress)."""
    return _FROM_STAGE[stage] if stage is not None else Status.IN_PROGRESS


def status_of_state(state: InboxState) -> Status:
    """Primero's status for a received message's inbox state."""
    return status_of_stage(stage_of_state(state))


def transition_type(kind: str) -> str:
    """Primero's `type`: Referral or Transfer."""
    return "Transfer" if kind == MessageKind.TRANSFER else "Referral"
