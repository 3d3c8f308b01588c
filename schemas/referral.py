"""The referral body: ask another agency to act for a child."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import Attachments, Narrative, SharingBasis, Subject, Text, Worker, unique
from schemas.kinds import Urgency


class ReasonCategory(StrEnum):
    PHYSICAL_ABUSE = "physical_abuse"
    NEGLECT = "neglect"
    SEXUAL_ABUSE = "sexual_abuse"
    EMOTIONAL_ABUSE = "emotional_abuse"
    DOMESTIC_VIOLENCE_EXPOSURE = "domestic_violence_exposure"
    EXPLOITATION = "exploitation"
    HEALTH_NEED = "health_need"
    SCHOOL_ABSENCE = "school_absence"
    OTHER = "other"


class RiskLevel(StrEnum):
    """The referrer's judgement of risk to the child; `urgency` is how fast to act."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    IMMEDIATE = "immediate"


class RequestedService(StrEnum):
    ASSESSMENT = "assessment"
    MEDICAL_EXAMINATION = "medical_examination"
    FORENSIC_INTERVIEW = "forensic_interview"
    COUNSELLING = "counselling"
    SHELTER = "shelter"
    EDUCATION_SUPPORT = "education_support"
    OTHER = "other"


class Referral(SharingBasis):
    """Ask the recipient agency to act for `subject`.

    Cites either a consent record (`consent_ref`) or a `lawful_basis` with its
    `justification` and `authorised_by`, never both. `urgency` is repeated in the clear
    header so the tracker can apply deadlines without the body. `reason_categories` do not
    repeat.
    """

    subject: Subject
    reason_categories: Annotated[
        list[ReasonCategory], Field(min_length=1, max_length=len(ReasonCategory))
    ]
    risk_level: RiskLevel
    urgency: Urgency
    requested_service: RequestedService
    requested_service_detail: Text | None = None
    narrative: Narrative
    referring_worker: Worker
    attachments: Attachments = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct_reasons(self) -> "Referral":
        unique(self.reason_categories, "reason_categories")
        return self
