"""The stages of a referral or transfer, the party that moves to each, their FHIR status."""

from collections.abc import Mapping
from enum import StrEnum

from broker.errors import CaselinkError
from schemas.kinds import AckStatus


class Stage(StrEnum):
    """Where a referral or transfer stands, for both parties and the tracker alike."""

    SENT = "sent"
    DELIVERED = "delivered"
    ACCEPTED = "accepted"
    PLANNED = "planned"  # accepted, and its plan recorded: the outcome deadline is met
    DECLINED = "declined"
    REDIRECTED = "redirected"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


class Party(StrEnum):
    """Who speaks in a thread: the original message's sender, or its recipient."""

    SENDER = "sender"
    RECIPIENT = "recipient"


class FhirTaskStatus(StrEnum):
    """The base FHIR R4 Task.status codes Caselink's stages map to."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in-progress"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class UnknownAckStatus(CaselinkError, ValueError):
    """An acknowledgement status outside the closed vocabulary."""

    reason = "unknown_ack_status"


_S = Stage

# Each acknowledgement status announces exactly one stage, and only one party may say it.
_STAGE_OF: Mapping[str, Stage] = {
    AckStatus.RECEIVED: _S.DELIVERED,
    AckStatus.ACCEPTED: _S.ACCEPTED,
    AckStatus.PLANNED: _S.PLANNED,
    AckStatus.DECLINED: _S.DECLINED,
    AckStatus.REDIRECTED: _S.REDIRECTED,
    AckStatus.COMPLETED: _S.COMPLETED,
    AckStatus.WITHDRAWN: _S.WITHDRAWN,
}
_STATUS_OF: Mapping[Stage, AckStatus] = {
    stage: AckStatus(status) for status, stage in _STAGE_OF.items()
}
_AUTHOR: Mapping[Stage, Party] = {
    _S.DELIVERED: Party.RECIPIENT,
    _S.ACCEPTED: Party.RECIPIENT,
    _S.PLANNED: Party.RECIPIENT,
    _S.DECLINED: Party.RECIPIENT,
    _S.REDIRECTED: Party.RECIPIENT,
    _S.COMPLETED: Party.RECIPIENT,
    _S.WITHDRAWN: Party.SENDER,
}
_FHIR: Mapping[Stage, FhirTaskStatus] = {
    _S.SENT: FhirTaskStatus.REQUESTED,
    _S.DELIVERED: FhirTaskStatus.RECEIVED,
    _S.ACCEPTED: FhirTaskStatus.ACCEPTED,
    # The performer is at work on the plan it recorded (FHIR: "the task has been started").
    _S.PLANNED: FhirTaskStatus.IN_PROGRESS,
    _S.DECLINED: FhirTaskStatus.REJECTED,
    _S.REDIRECTED: FhirTaskStatus.REJECTED,
    _S.COMPLETED: FhirTaskStatus.COMPLETED,
    _S.WITHDRAWN: FhirTaskStatus.CANCELLED,
}


def stage_of(status: str) -> Stage:
    """The stage an acknowledgement status announces; raises UnknownAckStatus."""
    try:
        return _STAGE_OF[status]
    except KeyError:
        raise UnknownAckStatus(f"unknown acknowledgement status {status!r}") from None


def status_of(stage: Stage) -> AckStatus | None:
    """The acknowledgement status that announces `stage`; None for SENT (the original)."""
    return _STATUS_OF.get(stage)


def author(stage: Stage) -> Party | None:
    """The party that may move a thread to `stage`; None for SENT (nobody moves back)."""
    return _AUTHOR.get(stage)


def speaker(status: str) -> Party | None:
    """The party entitled to say `status`; None for a status outside the vocabulary."""
    target = _STAGE_OF.get(status)
    return None if target is None else _AUTHOR.get(target)


def fhir_status(stage: Stage) -> FhirTaskStatus:
    """The FHIR R4 Task.status of `stage` (planned is in-progress, redirected rejected,
    withdrawn cancelled)."""
    return _FHIR[stage]
