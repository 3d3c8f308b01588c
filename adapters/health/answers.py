"""A Task's status change <-> a Caselink acknowledgement (pure).

The hospital answers a referral it received as the SDOH Clinical Care guide's performer:
`accepted`; `rejected` with a statusReason (declined; with businessStatus
BUSINESS_STATUS#redirected and EXT_REDIRECTED_TO naming the better-placed agency:
redirected); `in-progress` with an output whose valueString is the plan (planned: the plan
recorded, which meets the outcome deadline); `completed` with an output (the outcome). It
withdraws a referral it sent as the requester: `cancelled`. Which party may set which
status follows that guide (the performer sets in-progress once it has started the work);
which move is allowed from where is `broker.lifecycle`'s, the one table gateways and
tracker share. A status outside base R4 is a 400; anything the guide or the lifecycle
refuses, or Caselink has no stage for (on-hold, failed, entered-in-error), a 422.
"""

from typing import Any

from pydantic import ValidationError

from adapters.health.outcome import Missing, NotSupported, RuleBroken, WrongResource, WrongRules
from adapters.health.resources import (
    Json,
    agency_reference,
    codes,
    concept,
    extension_value,
    identifier_value,
)
from adapters.health.vocabulary import (
    ACK_REASON,
    AGENCY_SYSTEM,
    BUSINESS_STATUS,
    EXT_REDIRECTED_TO,
    OUTCOME,
    OUTSIDE_SDOH,
    PERFORMER_SETS,
    REQUESTER_SETS,
    TaskStatus,
)
from broker import lifecycle
from broker.lifecycle import Party, Stage
from schemas.acknowledgement import Acknowledgement
from schemas.common import Worker
from schemas.kinds import AckStatus

_PERFORMER_ANSWERS = {
    TaskStatus.ACCEPTED: AckStatus.ACCEPTED,
    TaskStatus.REJECTED: AckStatus.DECLINED,
    TaskStatus.IN_PROGRESS: AckStatus.PLANNED,
    TaskStatus.COMPLETED: AckStatus.COMPLETED,
}
PLAN_TYPE = "plan"
"""The code (in the OUTCOME system) of the output that carries the plan, as this adapter
writes it; read, an output of this type wins over other texts (`_plan`)."""


def task_status(task: Json) -> TaskStatus:
    """The Task's status as a base R4 code; raises WrongResource (400) for another code."""
    try:
        return TaskStatus(str(task.get("status")))
    except ValueError:
        raise WrongResource(
            "Task.status is not an R4 TaskStatus code", expression="Task.status"
        ) from None


def status_of(stage: Stage) -> TaskStatus:
    """The Task status a Caselink stage shows (broker.lifecycle.fhir_status)."""
    return TaskStatus(lifecycle.fhir_status(stage).value)


def performer_answer(
    task: Json, *, answers: str, kind: str, current: Stage, responder: Worker
) -> Acknowledgement | None:
    """The acknowledgement a received referral's updated Task stands for; None when its
    status is the one it has. Raises the refusals of `outcome`."""
    status = task_status(task)
    if status is status_of(current):
        return None
    if status in OUTSIDE_SDOH:
        raise RuleBroken(
            f"{status.value} is not a status a performer sets"
            + (" (Caselink's gateway sets it on receipt)" if status is TaskStatus.RECEIVED else ""),
            expression="Task.status",
        )
    if status not in PERFORMER_SETS:
        raise RuleBroken(f"{status.value} is set by the requester", expression="Task.status")
    if status is TaskStatus.CANCELLED:
        raise RuleBroken(
            "in Caselink only the requester cancels a referral: reject it instead",
            expression="Task.status",
        )
    answer = _PERFORMER_ANSWERS.get(status)
    if answer is None:
        raise NotSupported(
            f"Caselink has no stage for {status.value}: accept, reject, set in-progress with"
            " the plan, or complete",
            expression="Task.status",
        )
    fields: dict[str, Any] = {"status": answer, "answers": answers}
    reason = _reason(task, required=status is TaskStatus.REJECTED)
    if reason is not None:
        fields["reason"] = reason
    if status is TaskStatus.REJECTED:
        redirected_to = _redirected_to(task)
        if redirected_to is not None:
            fields.update(status=AckStatus.REDIRECTED, redirected_to=redirected_to)
    if status is TaskStatus.IN_PROGRESS:
        fields["plan"] = _plan(task)
    if status is TaskStatus.COMPLETED:
        fields["outcome"] = _outcome(task)
    return _checked(fields, task, kind, current, Party.RECIPIENT, responder)


def requester_answer(
    task: Json, *, answers: str, kind: str, current: Stage, responder: Worker
) -> Acknowledgement | None:
    """The withdrawal a sent referral's Task set to `cancelled` stands for; None when its
    status is the one it has. Raises the refusals of `outcome`."""
    status = task_status(task)
    if status is status_of(current):
        return None
    if status is not TaskStatus.CANCELLED:
        if status in REQUESTER_SETS:
            raise NotSupported(
                f"a sent referral cannot become {status.value}: cancel it instead",
                expression="Task.status",
            )
        raise RuleBroken(f"{status.value} is set by the performer", expression="Task.status")
    fields: dict[str, Any] = {"status": AckStatus.WITHDRAWN, "answers": answers}
    reason = _reason(task, required=False)
    if reason is not None:
        fields["reason"] = reason
    return _checked(fields, task, kind, current, Party.SENDER, responder)


def answer_fields(ack: Acknowledgement) -> Json:
    """What an answer adds to the Task it answers: statusReason, businessStatus, output."""
    fields: Json = {}
    if ack.reason is not None:
        fields["statusReason"] = concept(ACK_REASON, ack.reason.category.value, ack.reason.text)
    if ack.redirected_to is not None:
        fields["businessStatus"] = concept(BUSINESS_STATUS, "redirected")
        fields["extension"] = [
            {"url": EXT_REDIRECTED_TO, "valueReference": agency_reference(ack.redirected_to)}
        ]
    if ack.outcome is not None:
        fields["output"] = [
            {
                "type": concept(OUTCOME, "outcome"),
                "valueCodeableConcept": concept(
                    OUTCOME, ack.outcome.category.value, ack.outcome.text
                ),
            }
        ]
    if ack.plan is not None:
        fields["output"] = [{"type": concept(OUTCOME, PLAN_TYPE), "valueString": ack.plan}]
    if ack.note is not None:
        fields["note"] = [{"text": ack.note}]
    return fields


def _checked(
    fields: dict[str, Any], task: Json, kind: str, current: Stage, party: Party, by: Worker
) -> Acknowledgement:
    target = lifecycle.stage_of(fields["status"])
    if not lifecycle.allows(kind, current, party, target):
        raise RuleBroken(
            f"a {current.value} referral cannot become {target.value}", expression="Task.status"
        )
    notes = task.get("note", [])
    if notes:
        fields["note"] = notes[-1]["text"]
    try:
        return Acknowledgement.model_validate({**fields, "responded_by": by})
    except ValidationError as error:
        raise WrongRules("answer", error.errors(include_input=False)) from None


def _reason(task: Json, *, required: bool) -> dict[str, Any] | None:
    given = task.get("statusReason")
    if given is None:
        if required:
            raise Missing("a rejected Task needs a statusReason", expression="Task.statusReason")
        return None
    category = codes(given, ACK_REASON)
    reason: dict[str, Any] = {"category": category[0] if category else "other"}
    if "text" in given:
        reason["text"] = given["text"]
    return reason


def _redirected_to(task: Json) -> str | None:
    if "redirected" not in codes(task.get("businessStatus"), BUSINESS_STATUS):
        return None
    agency = identifier_value(
        extension_value(task, EXT_REDIRECTED_TO, "valueReference"), AGENCY_SYSTEM
    )
    if agency is None:
        raise Missing(
            "a redirected Task names the agency in its redirected-to extension",
            expression="Task.extension",
        )
    return agency


def _outcome(task: Json) -> dict[str, Any]:
    for output in task.get("output", []):
        value = output.get("valueCodeableConcept")
        if value is not None:
            category = codes(value, OUTCOME)
            found: dict[str, Any] = {"category": category[0] if category else "other"}
            if "text" in value:
                found["text"] = value["text"]
            return found
    raise Missing(
        "a completed Task needs an output with a valueCodeableConcept", expression="Task.output"
    )


def _plan(task: Json) -> object:
    # The text as given: the acknowledgement's model checks it (bounded, not blank). An
    # output typed as the plan wins; an untyped text is taken only when it is the one text,
    # so another output's words (a note, a summary) are never sealed as the plan.
    texts = [output for output in task.get("output", []) if "valueString" in output]
    typed = [output for output in texts if PLAN_TYPE in codes(output.get("type"), OUTCOME)]
    if typed:
        return typed[0]["valueString"]
    if len(texts) == 1:
        return texts[0]["valueString"]
    raise Missing(
        "an in-progress Task needs one output with a valueString, the plan (typed "
        f"{OUTCOME}|{PLAN_TYPE} when it has several)",
        expression="Task.output",
    )
