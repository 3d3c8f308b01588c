"""The acknowledgement body: answer a referral, transfer or consent message."""

from enum import StrEnum

from pydantic import model_validator

from schemas.common import Text, Wire, Worker
from schemas.ids import AgencyId, MessageId
from schemas.kinds import AckStatus


class AckReasonCategory(StrEnum):
    """Why a message was declined, redirected or withdrawn."""

    OUTSIDE_REMIT = "outside_remit"
    INSUFFICIENT_INFORMATION = "insufficient_information"
    NO_CAPACITY = "no_capacity"
    NO_CONSENT_OR_LAWFUL_BASIS = "no_consent_or_lawful_basis"
    CHILD_NOT_IN_AREA = "child_not_in_area"
    ALREADY_KNOWN = "already_known"
    DUPLICATE = "duplicate"
    BETTER_PLACED_ELSEWHERE = "better_placed_elsewhere"
    SENT_IN_ERROR = "sent_in_error"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"


class AckReason(Wire):
    category: AckReasonCategory
    text: Text | None = None


class OutcomeCategory(StrEnum):
    SERVICE_PROVIDED = "service_provided"
    REFERRED_ON = "referred_on"
    NO_FURTHER_ACTION = "no_further_action"
    CHILD_NOT_FOUND = "child_not_found"
    OTHER = "other"


class Outcome(Wire):
    category: OutcomeCategory
    text: Text | None = None


_NEEDS_REASON = frozenset({AckStatus.DECLINED, AckStatus.REDIRECTED})


class Acknowledgement(Wire):
    """Answer the message `answers` with `status`.

    `reason` is required for declined and redirected (optional otherwise); `redirected_to`
    is set exactly when redirected; `outcome` exactly when completed; `plan` exactly when
    planned (an accepted referral's or transfer's plan, recorded before its outcome: it meets
    the outcome deadline as completion does); `responded_by` may be left out only for the
    automatic `received`. `status` and `answers` are repeated in the clear header.
    """

    status: AckStatus
    answers: MessageId
    reason: AckReason | None = None
    redirected_to: AgencyId | None = None
    outcome: Outcome | None = None
    plan: Text | None = None
    responded_by: Worker | None = None
    note: Text | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "Acknowledgement":
        if self.status in _NEEDS_REASON and self.reason is None:
            raise ValueError(f"a {self.status.value} acknowledgement needs a reason")
        if (self.status is AckStatus.REDIRECTED) != (self.redirected_to is not None):
            raise ValueError("redirected_to is set exactly when status is redirected")
        if (self.status is AckStatus.COMPLETED) != (self.outcome is not None):
            raise ValueError("outcome is set exactly when status is completed")
        if (self.status is AckStatus.PLANNED) != (self.plan is not None):
            raise ValueError("plan is set exactly when status is planned")
        if self.status is not AckStatus.RECEIVED and self.responded_by is None:
            raise ValueError("only an automatic received acknowledgement may omit responded_by")
        return self
