"""A plan recorded meets the outcome deadline (issue 13: "completed (or its plan recorded)"):
no reminder or escalation after it; without one, the ladder as before."""

from itertools import permutations

import pytest

from broker.lifecycle import FhirTaskStatus
from broker.tracker.escalation import Audience, PlannedAlert, due_alerts, open_deadlines
from broker.tracker.events import TrackedEvent
from broker.tracker.listings import (
    ACCEPTED_NOT_DONE,
    OPEN_PHASES,
    TRANSFERS_TAKEN,
    accepted_seconds,
)
from broker.tracker.policy import DEFAULT_POLICY, deadlines
from broker.tracker.schedule import current_deadline, next_check_at
from broker.tracker.state import FINAL_PHASES, Phase, ThreadState, fhir_status, thread_state
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, MINUTE, RECIPIENT, SENDER, T0, Thread

A = AckStatus
OUTCOME = 7 * DAY  # a normal referral's outcome deadline, from the acceptance
ACCEPTED_AT = T0 + 10 * MINUTE


def state_of(thread: Thread, *events: TrackedEvent) -> ThreadState:
    return thread_state(thread.thread_id, events)


def outcome_rungs(alerts: list[PlannedAlert]) -> set[tuple[AlertLevel, Audience]]:
    return {(a.level, a.audience) for a in alerts if a.reason is AlertReason.COMPLETION_OVERDUE}


def accepted(thread: Thread) -> tuple[TrackedEvent, list[TrackedEvent]]:
    sent = thread.original(T0)
    return sent, [
        sent,
        thread.answer(sent, A.RECEIVED, T0 + MINUTE),
        thread.answer(sent, A.ACCEPTED, ACCEPTED_AT),
    ]


def test_a_plan_before_the_outcome_deadline_raises_nothing() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent, events = accepted(thread)
    planned_at = ACCEPTED_AT + OUTCOME - 1
    state = state_of(thread, *events, thread.answer(sent, A.PLANNED, planned_at))
    assert state.phase is Phase.PLANNED
    assert state.phase not in FINAL_PHASES
    assert fhir_status(state.phase) is FhirTaskStatus.IN_PROGRESS
    # The deadline is still the acceptance's (met), and nothing is owed any more.
    assert deadlines(state, DEFAULT_POLICY).outcome_due == ACCEPTED_AT + OUTCOME
    assert state.responded_at == ACCEPTED_AT
    assert open_deadlines(state, DEFAULT_POLICY) == []
    assert current_deadline(state, DEFAULT_POLICY) is None
    assert next_check_at(state, DEFAULT_POLICY, set(), refused_by=T0) is None
    for now in (ACCEPTED_AT + OUTCOME, ACCEPTED_AT + 2 * OUTCOME, ACCEPTED_AT + 10 * OUTCOME):
        assert due_alerts(state, DEFAULT_POLICY, now, set()) == []


def test_without_a_plan_the_ladder_is_as_before() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    _, events = accepted(thread)
    state = state_of(thread, *events)
    assert state.phase is Phase.ACCEPTED
    assert due_alerts(state, DEFAULT_POLICY, ACCEPTED_AT + OUTCOME - 1, set()) == []
    reminder = due_alerts(state, DEFAULT_POLICY, ACCEPTED_AT + OUTCOME, set())
    assert outcome_rungs(reminder) == {
        (AlertLevel.REMINDER, Audience.RECIPIENT),
        (AlertLevel.REMINDER, Audience.COORDINATORS),
    }
    raised = {a.key for a in reminder}
    escalation = due_alerts(state, DEFAULT_POLICY, ACCEPTED_AT + 2 * OUTCOME, raised)
    assert {level for level, _ in outcome_rungs(escalation)} == {AlertLevel.ESCALATION}


def test_a_late_plan_stops_the_ladder_where_it_stood() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent, events = accepted(thread)
    before = state_of(thread, *events)
    reminder = due_alerts(before, DEFAULT_POLICY, ACCEPTED_AT + OUTCOME, set())
    assert outcome_rungs(reminder)
    late = state_of(thread, *events, thread.answer(sent, A.PLANNED, ACCEPTED_AT + OUTCOME + 60))
    raised = {a.key for a in reminder}
    assert due_alerts(late, DEFAULT_POLICY, ACCEPTED_AT + 2 * OUTCOME, raised) == []


@pytest.mark.parametrize("kind", [MessageKind.REFERRAL, MessageKind.TRANSFER])
def test_a_plan_is_followed_by_completion(kind: MessageKind) -> None:
    thread = Thread(kind, Urgency.NORMAL)
    sent, events = accepted(thread)
    plan = thread.answer(sent, A.PLANNED, ACCEPTED_AT + DAY)
    done = thread.answer(sent, A.COMPLETED, ACCEPTED_AT + 20 * DAY)
    state = state_of(thread, *events, plan, done)
    assert (state.phase, state.closed_at) == (Phase.COMPLETED, ACCEPTED_AT + 20 * DAY)
    # Nothing leaves completed: a plan after it changes nothing.
    again = thread.answer(sent, A.PLANNED, ACCEPTED_AT + 21 * DAY)
    assert state_of(thread, *events, done, again).phase is Phase.COMPLETED


def test_a_planned_referral_may_be_withdrawn_a_planned_transfer_not() -> None:
    ends = ((MessageKind.REFERRAL, Phase.WITHDRAWN), (MessageKind.TRANSFER, Phase.PLANNED))
    for kind, expected in ends:
        thread = Thread(kind, Urgency.NORMAL)
        sent, events = accepted(thread)
        plan = thread.answer(sent, A.PLANNED, ACCEPTED_AT + DAY)
        withdrawal = thread.answer(sent, A.WITHDRAWN, ACCEPTED_AT + 2 * DAY)
        state = state_of(thread, *events, plan, withdrawal)
        assert state.phase is expected


def test_only_the_recipient_records_the_plan() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent, events = accepted(thread)
    by_sender = thread.answer(sent, A.PLANNED, ACCEPTED_AT + DAY, by=SENDER)
    assert state_of(thread, *events, by_sender).phase is Phase.ACCEPTED
    by_recipient = thread.answer(sent, A.PLANNED, ACCEPTED_AT + DAY, by=RECIPIENT)
    assert state_of(thread, *events, by_recipient).phase is Phase.PLANNED


def test_a_plan_whose_acceptance_was_not_seen_counts_as_the_answer() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0)
    plan = thread.answer(sent, A.PLANNED, T0 + DAY)
    state = state_of(thread, sent, plan)
    assert (state.phase, state.responded_at) == (Phase.PLANNED, T0 + DAY)
    assert due_alerts(state, DEFAULT_POLICY, T0 + 100 * DAY, set()) == []


def test_same_second_answers_in_any_order_end_planned() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0)
    answers = [
        thread.answer(sent, status, T0 + 5) for status in (A.RECEIVED, A.ACCEPTED, A.PLANNED)
    ]
    for order in permutations([sent, *answers]):
        assert state_of(thread, *order).phase is Phase.PLANNED


def test_the_lists_treat_a_planned_thread_as_open_taken_and_no_longer_owing() -> None:
    referral = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent, events = accepted(referral)
    planned = state_of(referral, *events, referral.answer(sent, A.PLANNED, ACCEPTED_AT + DAY))
    assert Phase.PLANNED.value in OPEN_PHASES
    assert not ACCEPTED_NOT_DONE.includes(planned)
    assert ACCEPTED_NOT_DONE.includes(state_of(referral, *events))
    assert accepted_seconds(planned, ACCEPTED_AT + 2 * DAY) is None
    transfer = Thread(MessageKind.TRANSFER, None)
    sent, events = accepted(transfer)
    taken = state_of(transfer, *events, transfer.answer(sent, A.PLANNED, ACCEPTED_AT + DAY))
    assert TRANSFERS_TAKEN.includes(taken)
    assert taken.responsibility == RECIPIENT
