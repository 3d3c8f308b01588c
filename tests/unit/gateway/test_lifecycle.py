"""The allowed moves of a received referral or transfer, and what answers mean."""

import itertools

import pytest

from broker.errors import CaselinkError
from broker.gateway.lifecycle import (
    AnswerMismatch,
    TransitionNotAllowed,
    ack_status_to_state,
    can_move,
    check_move,
    check_response,
    sources_of,
    stage,
)
from broker.gateway.records import InboxState
from broker.lifecycle import Stage, UnknownAckStatus
from tests.gateway_records import answer, incoming

S = InboxState
REFERRAL_MOVES = {
    (S.NEW, S.ACCEPTED),
    (S.NEW, S.DECLINED),
    (S.NEW, S.REDIRECTED),
    (S.NEW, S.WITHDRAWN),
    (S.ACCEPTED, S.PLANNED),
    (S.ACCEPTED, S.COMPLETED),
    (S.ACCEPTED, S.WITHDRAWN),
    (S.PLANNED, S.COMPLETED),
    (S.PLANNED, S.WITHDRAWN),
}
# An accepted transfer is the recipient's case: its sender can no longer withdraw it.
ALLOWED = {
    "referral": REFERRAL_MOVES,
    "transfer": REFERRAL_MOVES - {(S.ACCEPTED, S.WITHDRAWN), (S.PLANNED, S.WITHDRAWN)},
    "consent": set(),
    "acknowledgement": set(),
}
ALL_MOVES = [
    (kind, current, target)
    for kind in sorted(ALLOWED)
    for current, target in itertools.product(InboxState, InboxState)
]


@pytest.mark.parametrize(
    ("kind", "current", "target"), [m for m in ALL_MOVES if m[1:] in ALLOWED[m[0]]]
)
def test_allowed_moves_are_allowed(kind: str, current: InboxState, target: InboxState) -> None:
    assert can_move(kind, current, target)
    assert check_move(kind, current, target) is target


@pytest.mark.parametrize(
    ("kind", "current", "target"), [m for m in ALL_MOVES if m[1:] not in ALLOWED[m[0]]]
)
def test_every_other_move_is_refused_with_both_states_named(
    kind: str, current: InboxState, target: InboxState
) -> None:
    assert not can_move(kind, current, target)
    with pytest.raises(TransitionNotAllowed) as caught:
        check_move(kind, current, target)
    assert str(caught.value) == (
        f"cannot move a received message from {current.value} to {target.value}"
    )
    assert (caught.value.current, caught.value.target) == (current, target)


def test_each_inbox_state_shows_a_shared_stage_new_being_delivered() -> None:
    assert stage(S.NEW) is Stage.DELIVERED
    assert stage(S.INFORMATIONAL) is None
    assert {stage(state) for state in InboxState} - {None} == set(Stage) - {Stage.SENT}


def test_refusal_is_a_caselink_error_and_a_value_error() -> None:
    error = TransitionNotAllowed(S.COMPLETED, S.ACCEPTED)
    assert isinstance(error, CaselinkError)
    assert isinstance(error, ValueError)
    assert error.reason == "transition_not_allowed"
    assert "\n" not in str(error)


def test_sources_of_each_state() -> None:
    assert sources_of("referral", S.WITHDRAWN) == {S.NEW, S.ACCEPTED, S.PLANNED}
    assert sources_of("transfer", S.WITHDRAWN) == {S.NEW}
    assert sources_of("referral", S.COMPLETED) == {S.ACCEPTED, S.PLANNED}
    assert sources_of("transfer", S.PLANNED) == {S.ACCEPTED}
    assert sources_of("transfer", S.DECLINED) == {S.NEW}
    assert sources_of("referral", S.NEW) == frozenset()
    assert sources_of("referral", S.INFORMATIONAL) == frozenset()
    assert sources_of("consent", S.WITHDRAWN) == frozenset()


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("received", S.NEW),
        ("accepted", S.ACCEPTED),
        ("declined", S.DECLINED),
        ("redirected", S.REDIRECTED),
        ("planned", S.PLANNED),
        ("completed", S.COMPLETED),
        ("withdrawn", S.WITHDRAWN),
    ],
)
def test_ack_status_to_state(status: str, state: InboxState) -> None:
    assert ack_status_to_state(status) is state


@pytest.mark.parametrize("status", ["granted", "", "ACCEPTED", "cancelled"])
def test_unknown_ack_status_is_refused(status: str) -> None:
    with pytest.raises(UnknownAckStatus, match="unknown acknowledgement status"):
        ack_status_to_state(status)


@pytest.mark.parametrize("state", [S.ACCEPTED, S.DECLINED, S.REDIRECTED, S.COMPLETED])
def test_a_matching_answer_passes(state: InboxState) -> None:
    message = incoming()
    check_response(message.message_id, state, answer(message, state.value))


@pytest.mark.parametrize("state", [S.WITHDRAWN, S.NEW, S.INFORMATIONAL])
def test_the_recipient_cannot_choose_sender_or_start_states(state: InboxState) -> None:
    message = incoming()
    with pytest.raises(TransitionNotAllowed, match=f"to {state.value}: not a state"):
        check_response(message.message_id, state, answer(message, "withdrawn"))


def test_an_answer_to_another_message_is_refused() -> None:
    message, other = incoming(), incoming()
    with pytest.raises(AnswerMismatch, match="acknowledgement of the message"):
        check_response(message.message_id, S.ACCEPTED, answer(other, "accepted"))


def test_an_answer_that_is_not_an_acknowledgement_is_refused() -> None:
    message = incoming()
    not_ack = answer(message, "accepted", kind="referral")
    with pytest.raises(AnswerMismatch):
        check_response(message.message_id, S.ACCEPTED, not_ack)


@pytest.mark.parametrize("status", ["declined", None, "nonsense"])
def test_an_answer_whose_status_says_otherwise_is_refused(status: str | None) -> None:
    message = incoming()
    with pytest.raises(AnswerMismatch, match="does not stand for accepted"):
        check_response(message.message_id, S.ACCEPTED, answer(message, status))
