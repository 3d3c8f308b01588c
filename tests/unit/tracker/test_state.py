"""The referral fold: every transition, who may move a thread, answers before the original."""

from dataclasses import replace

import pytest

from broker.errors import CaselinkError
from broker.tracker.state import FhirTaskStatus, Leg, Phase, fhir_status, thread_state
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import (
    HOUR,
    MINUTE,
    RECIPIENT,
    SENDER,
    STRANGER,
    T0,
    Thread,
    new_id,
)

A = AckStatus
TRANSFER = MessageKind.TRANSFER
REFERRAL = MessageKind.REFERRAL


# --- referral ----------------------------------------------------------------------------


def test_a_sent_referral() -> None:
    thread = Thread(REFERRAL, Urgency.HIGH)
    sent = thread.original(respond_by=T0 + HOUR)
    state = thread_state(thread.thread_id, [sent])
    assert state.phase is Phase.SENT
    assert (state.kind, state.sender, state.recipients) == (REFERRAL, SENDER, (RECIPIENT,))
    assert state.legs == (Leg(RECIPIENT, sent.message_id, None),)
    assert (state.urgency, state.opened_at, state.respond_by) == (Urgency.HIGH, T0, T0 + HOUR)
    assert (state.delivered_at, state.responded_at, state.closed_at) == (None, None, None)
    assert state.responsibility is None


def test_referral_delivered_accepted_completed() -> None:
    thread = Thread()
    sent = thread.original()
    received = thread.answer(sent, A.RECEIVED, T0 + MINUTE)
    accepted = thread.answer(sent, A.ACCEPTED, T0 + HOUR)
    completed = thread.answer(sent, A.COMPLETED, T0 + 2 * HOUR)

    delivered = thread_state(thread.thread_id, [sent, received])
    assert (delivered.phase, delivered.delivered_at) == (Phase.DELIVERED, T0 + MINUTE)
    assert delivered.responded_at is None

    taken = thread_state(thread.thread_id, [sent, received, accepted])
    assert (taken.phase, taken.responded_at, taken.closed_at) == (Phase.ACCEPTED, T0 + HOUR, None)

    done = thread_state(thread.thread_id, [sent, received, accepted, completed])
    assert done.phase is Phase.COMPLETED
    assert (done.delivered_at, done.responded_at) == (T0 + MINUTE, T0 + HOUR)
    assert done.closed_at == T0 + 2 * HOUR


@pytest.mark.parametrize(
    ("status", "phase"), [(A.DECLINED, Phase.DECLINED), (A.REDIRECTED, Phase.REDIRECTED)]
)
def test_referral_declined_or_redirected_is_final(status: AckStatus, phase: Phase) -> None:
    thread = Thread()
    sent = thread.original()
    answer = thread.answer(sent, status, T0 + HOUR)
    late = [
        thread.answer(sent, A.ACCEPTED, T0 + 2 * HOUR),
        thread.answer(sent, A.COMPLETED, T0 + 3 * HOUR),
        thread.answer(sent, A.WITHDRAWN, T0 + 4 * HOUR),
    ]
    state = thread_state(thread.thread_id, [sent, answer, *late])
    assert (state.phase, state.responded_at, state.closed_at) == (phase, T0 + HOUR, T0 + HOUR)


@pytest.mark.parametrize("before", [[], [A.RECEIVED], [A.RECEIVED, A.ACCEPTED]])
def test_the_sender_withdraws_a_referral_before_completion(before: list[AckStatus]) -> None:
    thread = Thread()
    sent = thread.original()
    answers = [thread.answer(sent, s, T0 + i + 1) for i, s in enumerate(before)]
    withdrawn = thread.answer(sent, A.WITHDRAWN, T0 + HOUR)
    state = thread_state(thread.thread_id, [sent, *answers, withdrawn])
    assert (state.phase, state.closed_at) == (Phase.WITHDRAWN, T0 + HOUR)
    assert fhir_status(state.phase) is FhirTaskStatus.CANCELLED


def test_a_completed_referral_cannot_be_withdrawn() -> None:
    thread = Thread()
    sent = thread.original()
    events = [
        sent,
        thread.answer(sent, A.ACCEPTED, T0 + 1),
        thread.answer(sent, A.COMPLETED, T0 + 2),
        thread.answer(sent, A.WITHDRAWN, T0 + 3),
    ]
    assert thread_state(thread.thread_id, events).phase is Phase.COMPLETED


def test_an_answer_proves_delivery_without_the_automatic_received() -> None:
    thread = Thread()
    sent = thread.original()
    state = thread_state(thread.thread_id, [sent, thread.answer(sent, A.DECLINED, T0 + 60)])
    assert (state.phase, state.delivered_at, state.responded_at) == (
        Phase.DECLINED,
        T0 + 60,
        T0 + 60,
    )


def test_completed_without_accepted_still_closes_the_referral() -> None:
    # The tracker observes: chasing a thread its recipient reports done would be a false alarm.
    thread = Thread()
    sent = thread.original()
    state = thread_state(thread.thread_id, [sent, thread.answer(sent, A.COMPLETED, T0 + 9)])
    assert (state.phase, state.responded_at, state.closed_at) == (Phase.COMPLETED, T0 + 9, T0 + 9)


def test_the_first_decision_wins() -> None:
    thread = Thread()
    sent = thread.original()
    events = [
        sent,
        thread.answer(sent, A.ACCEPTED, T0 + 10),
        thread.answer(sent, A.DECLINED, T0 + 20),
    ]
    state = thread_state(thread.thread_id, events)
    assert (state.phase, state.responded_at) == (Phase.ACCEPTED, T0 + 10)


@pytest.mark.parametrize(
    ("before", "same_second", "phase"),
    [
        # The recipient's answer ranks before the sender's withdrawal issued in the same
        # second: a declined emergency still raises its alert.
        ([], [A.WITHDRAWN, A.DECLINED], Phase.DECLINED),
        ([A.ACCEPTED], [A.WITHDRAWN, A.COMPLETED], Phase.COMPLETED),
        ([], [A.COMPLETED, A.ACCEPTED, A.RECEIVED], Phase.COMPLETED),
    ],
)
def test_answers_issued_in_the_same_second_follow_their_rank(
    before: list[AckStatus], same_second: list[AckStatus], phase: Phase
) -> None:
    thread = Thread()
    sent = thread.original()
    events = [sent, *(thread.answer(sent, status, T0) for status in before)]
    events += [thread.answer(sent, status, T0 + 1) for status in same_second]
    state = thread_state(thread.thread_id, events)
    assert (state.phase, state.closed_at) == (phase, T0 + 1)


# --- who may move a thread ---------------------------------------------------------------


@pytest.mark.parametrize("status", [A.RECEIVED, A.ACCEPTED, A.DECLINED, A.COMPLETED, A.WITHDRAWN])
def test_a_third_agency_cannot_move_a_referral(status: AckStatus) -> None:
    thread = Thread()
    sent = thread.original()
    state = thread_state(thread.thread_id, [sent, thread.answer(sent, status, T0 + 1, by=STRANGER)])
    assert (state.phase, state.delivered_at) == (Phase.SENT, None)


def test_only_the_sender_withdraws_and_the_sender_cannot_answer() -> None:
    thread = Thread()
    sent = thread.original()
    events = [
        sent,
        thread.answer(sent, A.WITHDRAWN, T0 + 1, by=RECIPIENT),
        thread.answer(sent, A.ACCEPTED, T0 + 2, by=SENDER),
    ]
    state = thread_state(thread.thread_id, events)
    assert (state.phase, state.delivered_at) == (Phase.SENT, None)


def test_answers_to_an_unknown_message_do_not_count() -> None:
    thread = Thread()
    sent = thread.original()
    stray = thread.answer(sent, A.ACCEPTED, T0 + 1)
    stray = replace(stray, in_reply_to=new_id())
    assert thread_state(thread.thread_id, [sent, stray]).phase is Phase.SENT


def test_a_second_referral_in_the_thread_does_not_take_it_over() -> None:
    thread = Thread()
    sent = thread.original()
    other = thread.original(T0 + 5, sender=RECIPIENT, recipient=STRANGER)
    answer = thread.answer(other, A.ACCEPTED, T0 + 6)
    state = thread_state(thread.thread_id, [sent, other, answer])
    assert (state.sender, state.recipients, state.phase) == (SENDER, (RECIPIENT,), Phase.SENT)


def test_answers_to_a_resend_count() -> None:
    thread = Thread()
    sent, resent = thread.original(T0), thread.original(T0 + HOUR)
    state = thread_state(
        thread.thread_id, [sent, resent, thread.answer(resent, A.RECEIVED, T0 + HOUR + 1)]
    )
    assert state.legs == (Leg(RECIPIENT, sent.message_id, T0 + HOUR + 1),)
    assert state.opened_at == T0


# --- answers before the original ---------------------------------------------------------


def test_a_thread_exists_from_an_answer_alone_and_completes_when_the_original_arrives() -> None:
    thread = Thread()
    sent = thread.original()
    accepted = thread.answer(sent, A.ACCEPTED, T0 + 30)
    early = thread_state(thread.thread_id, [accepted])
    assert early.thread_id == thread.thread_id
    assert (early.phase, early.kind, early.sender, early.legs) == (Phase.UNKNOWN, None, None, ())
    assert fhir_status(early.phase) is None
    later = thread_state(thread.thread_id, [accepted, sent])
    assert (later.phase, later.responded_at) == (Phase.ACCEPTED, T0 + 30)


def test_no_events_is_an_unknown_thread() -> None:
    assert thread_state("t", []).phase is Phase.UNKNOWN


def test_events_of_another_thread_are_refused() -> None:
    one, two = Thread(), Thread()
    with pytest.raises(CaselinkError, match=f"not of thread {one.thread_id}"):
        thread_state(one.thread_id, [one.original(), two.original()])
