"""The transfer body: hand responsibility for a case to another agency or municipality."""

import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import (
    Attachments,
    Name,
    Narrative,
    SharingBasis,
    Subject,
    Text,
    Wire,
    Worker,
)


class Assessment(Wire):
    """One assessment already done; `type` is free text because each jurisdiction names its own."""

    type: Name
    date: datetime.date
    summary: Text


class GoalStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    ACHIEVED = "achieved"
    NOT_ACHIEVED = "not_achieved"
    DISCONTINUED = "discontinued"


class Goal(Wire):
    description: Text
    target_date: datetime.date | None = None
    status: GoalStatus


class CasePlan(Wire):
    goals: Annotated[list[Goal], Field(max_length=20)]


class TransferReason(StrEnum):
    FAMILY_MOVED = "family_moved"
    SERVICE_BETTER_PLACED = "service_better_placed"
    AGE_TRANSITION = "age_transition"
    OTHER = "other"


class Transfer(SharingBasis):
    """Hand the case of `subject` to the recipient; the sender stays responsible until accepted.

    `reason_detail` is required when `reason` is `other`. Cites either a consent record
    (`consent_ref`) or a `lawful_basis` with its `justification` and `authorised_by`.
    """

    subject: Subject
    case_summary: Narrative
    assessments: Annotated[list[Assessment], Field(max_length=20)] = Field(default_factory=list)
    case_plan: CasePlan | None = None
    reason: TransferReason
    reason_detail: Text | None = None
    transferring_worker: Worker
    receiving_worker: Worker | None = None
    attachments: Attachments = Field(default_factory=list)

    @model_validator(mode="after")
    def _explained(self) -> "Transfer":
        if self.reason is TransferReason.OTHER and self.reason_detail is None:
            raise ValueError("reason_detail is required when reason is other")
        return self
