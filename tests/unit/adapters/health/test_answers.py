"""Task status changes <-> acknowledgements: each SDOH status for each party, the lifecycle's
refusals, and an answer's fields read back as the same answer."""

import pytest
from hypothesis import given

from adapters.health.answers import (
    PLAN_TYPE,
    answer_fields,
    performer_answer,
    requester_answer,
)
from adapters.health.outcome import Missing, NotSupported, RuleBroken, WrongResource, WrongRules
from adapters.health.vocabulary import OUTCOME
from broker.lifecycle import Stage
from schemas.acknowledgement import Acknowledgement
from schemas.common import Worker
from schemas.kinds import AckStatus
from tests.strategies import acknowledgements

ID = "00000000-0000-4000-8000-000000000010"
BY = Worker(name="Dr Test", role="Paediatrician")


def answer(status: str, current: Stage = Stage.DELIVERED, **task: object) -> Acknowledgement | None:
    return performer_answer(
        {"status": status, **task}, answers=ID, kind="referral", current=current, responder=BY
    )


def test_the_performer_accepts_rejects_and_completes() -> None:
    accepted = answer("accepted")
    assert accepted is not None
    assert (accepted.status, accepted.answers, accepted.responded_by) == (
        AckStatus.ACCEPTED,
        ID,
        BY,
    )
    assert answer("received") is None  # unchanged
    with pytest.raises(Missing):
        answer("rejected")
    with pytest.raises(Missing):
        answer("completed", Stage.ACCEPTED)


@pytest.mark.parametrize(
    ("status", "current", "refusal"),
    [
        ("received", Stage.ACCEPTED, RuleBroken),  # the gateway's, on receipt
        ("requested", Stage.DELIVERED, RuleBroken),  # the requester's
        ("entered-in-error", Stage.DELIVERED, RuleBroken),
        ("cancelled", Stage.DELIVERED, RuleBroken),  # only the sender withdraws
        ("in-progress", Stage.ACCEPTED, Missing),  # no output: the plan is asked for
        ("on-hold", Stage.ACCEPTED, NotSupported),
        ("failed", Stage.ACCEPTED, NotSupported),
        ("ready", Stage.DELIVERED, RuleBroken),
        ("completed", Stage.DELIVERED, Missing),  # no output: asked for first
        ("accepted", Stage.DECLINED, RuleBroken),  # final
        ("bogus", Stage.DELIVERED, WrongResource),  # outside R4: 400
    ],
)
def test_refused_changes(status: str, current: Stage, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        answer(status, current)


def test_completed_before_accepted_is_the_lifecycle_s_refusal() -> None:
    output = [{"valueCodeableConcept": {"text": "seen"}}]
    with pytest.raises(RuleBroken, match="a delivered referral cannot become completed"):
        answer("completed", Stage.DELIVERED, output=output)
    done = answer("completed", Stage.ACCEPTED, output=output)
    assert done is not None
    assert done.outcome is not None
    assert (done.outcome.category.value, done.outcome.text) == ("other", "seen")


PLAN = "Synthetic plan: weekly clinic visits for six weeks"


def test_the_output_typed_as_the_plan_is_the_plan_whatever_its_place() -> None:
    typed = {"type": {"coding": [{"system": OUTCOME, "code": PLAN_TYPE}]}, "valueString": PLAN}
    summary = {"type": {"text": "summary"}, "valueString": "Synthetic summary, not the plan"}
    planned = answer("in-progress", Stage.ACCEPTED, output=[summary, typed])
    assert planned is not None
    assert planned.plan == PLAN
    # Two texts and neither typed: which is the plan is not guessed.
    with pytest.raises(Missing, match="typed"):
        answer("in-progress", Stage.ACCEPTED, output=[summary, {"valueString": PLAN}])


def test_in_progress_with_the_plan_records_it_after_acceptance_only() -> None:
    output = [{"type": {"text": "plan"}, "valueString": PLAN}]
    planned = answer("in-progress", Stage.ACCEPTED, output=output, note=[{"text": "Synthetic"}])
    assert planned is not None
    assert (planned.status, planned.plan, planned.note) == (AckStatus.PLANNED, PLAN, "Synthetic")
    assert answer("in-progress", Stage.PLANNED, output=output) is None  # unchanged
    with pytest.raises(RuleBroken, match="a delivered referral cannot become planned"):
        answer("in-progress", Stage.DELIVERED, output=output)
    with pytest.raises(RuleBroken, match="a completed referral cannot become planned"):
        answer("in-progress", Stage.COMPLETED, output=output)
    with pytest.raises(Missing, match="valueString, the plan"):
        answer("in-progress", Stage.ACCEPTED, output=[{"valueCodeableConcept": {"text": "x"}}])
    with pytest.raises(WrongRules):  # blank: the acknowledgement's rules, 422
        answer("in-progress", Stage.ACCEPTED, output=[{"valueString": "  "}])
    done = answer("completed", Stage.PLANNED, output=[{"valueCodeableConcept": {"text": "ok"}}])
    assert done is not None
    assert done.status is AckStatus.COMPLETED


def test_the_requester_cancels_only() -> None:
    def said(status: str, current: Stage = Stage.DELIVERED) -> Acknowledgement | None:
        return requester_answer(
            {"status": status}, answers=ID, kind="referral", current=current, responder=BY
        )

    withdrawn = said("cancelled")
    assert withdrawn is not None
    assert withdrawn.status is AckStatus.WITHDRAWN
    assert said("received") is None
    with pytest.raises(RuleBroken):
        said("accepted")
    with pytest.raises(NotSupported):
        said("entered-in-error")
    with pytest.raises(RuleBroken):
        said("cancelled", Stage.COMPLETED)


_STATUS = {
    AckStatus.ACCEPTED: ("accepted", Stage.DELIVERED),
    AckStatus.DECLINED: ("rejected", Stage.DELIVERED),
    AckStatus.REDIRECTED: ("rejected", Stage.DELIVERED),
    AckStatus.PLANNED: ("in-progress", Stage.ACCEPTED),
    AckStatus.COMPLETED: ("completed", Stage.ACCEPTED),
}


@given(acknowledgements().filter(lambda a: a.status in _STATUS))
def test_an_answer_s_fields_read_back_as_the_same_answer(ack: Acknowledgement) -> None:
    ack = ack.model_copy(update={"answers": ID, "responded_by": BY})
    status, current = _STATUS[ack.status]
    back = answer(status, current, **answer_fields(ack))
    assert back == ack
