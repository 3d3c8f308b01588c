"""The whole lifecycle table, once: both kinds, both parties, every stage x every status."""

import itertools

import pytest

from broker.lifecycle import (
    ANSWERS,
    AWAITING_ANSWER,
    FINAL,
    FhirTaskStatus,
    Party,
    Stage,
    UnknownAckStatus,
    allows,
    author,
    fhir_status,
    fold,
    observe,
    rank,
    sources,
    speaker,
    stage_of,
    status_of,
)
from schemas.kinds import AckStatus

S, P = Stage, Party
R, W = P.RECIPIENT, P.SENDER
KINDS = ("referral", "transfer")
STATUSES = [*(status.value for status in AckStatus), "nonsense", ""]

_REFERRAL = {
    (S.SENT, R, "received"),
    (S.SENT, W, "withdrawn"),
    (S.DELIVERED, R, "accepted"),
    (S.DELIVERED, R, "declined"),
    (S.DELIVERED, R, "redirected"),
    (S.DELIVERED, W, "withdrawn"),
    (S.ACCEPTED, R, "planned"),
    (S.ACCEPTED, R, "completed"),
    (S.ACCEPTED, W, "withdrawn"),
    (S.PLANNED, R, "completed"),
    (S.PLANNED, W, "withdrawn"),
}
ENFORCED = {
    "referral": _REFERRAL,
    # Ownership moved on acceptance: the sender cannot withdraw an accepted transfer, planned
    # or not.
    "transfer": _REFERRAL - {(S.ACCEPTED, W, "withdrawn"), (S.PLANNED, W, "withdrawn")},
}
# What an observer also takes: the recipient's answers that skip its own earlier steps.
_SKIPS = {
    (S.SENT, R, "accepted"),
    (S.SENT, R, "declined"),
    (S.SENT, R, "redirected"),
    (S.SENT, R, "planned"),
    (S.SENT, R, "completed"),
    (S.DELIVERED, R, "planned"),
    (S.DELIVERED, R, "completed"),
}
OBSERVED = {kind: moves | _SKIPS for kind, moves in ENFORCED.items()}
TABLE = list(itertools.product(KINDS, Stage, Party, STATUSES))


@pytest.mark.parametrize(("kind", "current", "party", "status"), TABLE)
def test_every_cell_of_the_table(kind: str, current: Stage, party: Party, status: str) -> None:
    cell = (current, party, status)
    target = stage_of(status) if status in {s.value for s in AckStatus} else None
    if target is not None:
        assert allows(kind, current, party, target) is (cell in ENFORCED[kind])
    expected = target if cell in OBSERVED[kind] else current
    assert observe(kind, current, party, status) is expected


@pytest.mark.parametrize("kind", ["consent", "acknowledgement", "nonsense"])
def test_kinds_without_a_lifecycle_never_move(kind: str) -> None:
    for current, party, target in itertools.product(Stage, Party, Stage):
        assert not allows(kind, current, party, target)
        assert observe(kind, current, party, status_of(target) or "received") is current


def test_final_stages_are_exactly_those_nothing_leaves() -> None:
    for kind in KINDS:
        stuck = {
            stage
            for stage in Stage
            if not any(allows(kind, stage, party, to) for party in Party for to in Stage)
        }
        assert stuck == FINAL == {S.DECLINED, S.REDIRECTED, S.COMPLETED, S.WITHDRAWN}


def test_answers_and_awaiting() -> None:
    assert {S.ACCEPTED, S.PLANNED, S.DECLINED, S.REDIRECTED, S.COMPLETED} == ANSWERS
    assert {S.SENT, S.DELIVERED} == AWAITING_ANSWER


def test_who_says_what() -> None:
    assert author(S.WITHDRAWN) is W
    assert {stage for stage in Stage if author(stage) is R} == set(Stage) - {S.SENT, S.WITHDRAWN}
    assert author(S.SENT) is None
    for status in AckStatus:
        assert status_of(stage_of(status)) is status
        assert speaker(status) is author(stage_of(status))
    assert status_of(S.SENT) is None
    assert speaker("nonsense") is None


@pytest.mark.parametrize("status", ["granted", "", "ACCEPTED", "cancelled"])
def test_an_unknown_status_is_refused(status: str) -> None:
    with pytest.raises(UnknownAckStatus, match="unknown acknowledgement status"):
        stage_of(status)


def test_fhir_task_status_of_each_stage() -> None:
    assert {stage: fhir_status(stage) for stage in Stage} == {
        S.SENT: FhirTaskStatus.REQUESTED,
        S.DELIVERED: FhirTaskStatus.RECEIVED,
        S.ACCEPTED: FhirTaskStatus.ACCEPTED,
        S.PLANNED: FhirTaskStatus.IN_PROGRESS,
        S.DECLINED: FhirTaskStatus.REJECTED,
        S.REDIRECTED: FhirTaskStatus.REJECTED,
        S.COMPLETED: FhirTaskStatus.COMPLETED,
        S.WITHDRAWN: FhirTaskStatus.CANCELLED,
    }


def test_sources() -> None:
    assert sources("referral", W, S.WITHDRAWN) == {S.SENT, S.DELIVERED, S.ACCEPTED, S.PLANNED}
    assert sources("transfer", W, S.WITHDRAWN) == {S.SENT, S.DELIVERED}
    assert sources("transfer", R, S.COMPLETED) == {S.ACCEPTED, S.PLANNED}
    assert sources("referral", R, S.PLANNED) == {S.ACCEPTED}
    assert sources("referral", W, S.PLANNED) == frozenset()  # the recipient's to say
    assert sources("referral", R, S.WITHDRAWN) == frozenset()


def test_rank_puts_further_steps_later() -> None:
    order = ["nonsense", "received", "accepted", "planned", "completed", "withdrawn"]
    assert [rank(status) for status in order] == sorted(rank(status) for status in order)
    assert rank("accepted") == rank("declined") == rank("redirected")
    assert rank(None) == rank("nonsense") == 0


def test_fold_applies_in_order_and_ignores_what_is_not_allowed() -> None:
    said = [(R, "received"), (R, "accepted"), (R, "declined"), (W, "withdrawn")]
    assert fold("referral", said) is S.WITHDRAWN
    assert fold("transfer", said) is S.ACCEPTED
    assert fold("referral", [(W, "accepted"), (R, "withdrawn")]) is S.SENT
    plan = [(R, "received"), (R, "accepted"), (R, "planned")]
    assert fold("referral", [*plan, (W, "withdrawn")]) is S.WITHDRAWN
    assert fold("transfer", [*plan, (W, "withdrawn")]) is S.PLANNED
    assert fold("transfer", [*plan, (R, "completed"), (R, "planned")]) is S.COMPLETED
