"""The SLA policy with working days and calendars, and the outcome deadline on the ladder."""

import re
from datetime import datetime
from pathlib import Path

import pytest

from broker.tracker.errors import PolicyError
from broker.tracker.escalation import Audience, PlannedAlert, due_alerts
from broker.tracker.policy import (
    DEFAULT_POLICY,
    Deadlines,
    SlaPolicy,
    deadlines,
    escalations,
    parse_duration,
    parse_policy,
    require_calendars,
)
from broker.tracker.schedule import current_deadline, next_check_at
from broker.tracker.state import ThreadState, thread_state
from broker.tracker.working_days import WorkingDays
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, MINUTE, RECIPIENT, T0, Thread

SLA_TOML = Path(__file__).resolve().parents[3] / "deploy" / "tracker" / "sla.toml"
GOOD = SLA_TOML.read_text(encoding="utf-8")
A, L, R = AckStatus, AlertLevel, AlertReason
SCHOOL = "school-thai"
CALENDARS = """
[jurisdictions.denmark]
country = "DK"
time_zone = "Europe/Copenhagen"

[jurisdictions.bangkok]
country = "TH"
time_zone = "Asia/Bangkok"

[agencies]
school-thai = "bangkok"
"*" = "denmark"
"""


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


def with_working_days() -> SlaPolicy:
    text = GOOD.replace('response = "24h"\noutcome = "7d"', 'response = "3wd"\noutcome = "10wd"')
    assert text != GOOD
    return parse_policy(text + CALENDARS)


def states(thread: Thread, *events: object) -> ThreadState:
    return thread_state(thread.thread_id, events)  # type: ignore[arg-type]


def test_older_files_without_outcome_or_calendars_stay_valid() -> None:
    older = re.sub(r'(?m)^outcome = "[0-9a-z]+"\n', "", GOOD)
    assert older.count("\noutcome =") == 0
    assert GOOD.count("\noutcome =") == 5
    assert parse_policy(older) == DEFAULT_POLICY


def test_working_days_parse_and_compare_only_with_their_kind() -> None:
    assert parse_duration("3wd", "x") == WorkingDays(3)
    with pytest.raises(PolicyError, match=r"^x: at most 366 working days$"):
        parse_duration("400wd", "x")
    with pytest.raises(PolicyError, match=r'^x: expected a duration like "15m", "4h", "5d" or'):
        parse_duration("3w", "x")
    # "2wd" delivery beside a "24h" response is not compared (it depends on the start).
    policy = parse_policy(
        GOOD.replace('delivery = "4h"\nresponse = "24h"', 'delivery = "2wd"\nresponse = "24h"')
        + CALENDARS
    )
    assert policy.referral[Urgency.NORMAL].delivery == WorkingDays(2)
    text = GOOD.replace('response = "24h"\noutcome = "7d"', 'response = "24h"\noutcome = "30wd"')
    with pytest.raises(
        PolicyError, match=r"^\[referral\.normal\] must not be later than \[referral\.low\]$"
    ):
        parse_policy(text.replace('outcome = "14d"', 'outcome = "20wd"') + CALENDARS)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            '[agencies]\nschool-thai = "nowhere"\n',
            r"^agencies\.school-thai: no \[jurisdictions\.nowhere\] defined$",
        ),
        ('[agencies]\n"School Thai" = "x"\n', r"^\[agencies\]: 'School Thai' is not an agency id$"),
        ('[jurisdictions.x]\ncountry = "DK"\n', r"^\[jurisdictions\.x\]: missing time_zone$"),
        (
            '[jurisdictions.x]\ncountry = "DK"\ntime_zone = "Mars/Olympus"\n',
            r"^jurisdictions\.x: unknown time zone 'Mars/Olympus'$",
        ),
        (
            '[jurisdictions.x]\ncountry = "DK"\ntime_zone = "UTC"\nzone = 1\n',
            r"^\[jurisdictions\.x\]: unknown key 'zone'$",
        ),
        (
            '[jurisdictions.x]\ncountry = "QQ"\ntime_zone = "UTC"\n',
            r"^jurisdictions\.x: no holiday calendar for 'QQ'$",
        ),
    ],
)
def test_calendar_mistakes_are_one_line_policy_errors(extra: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy(GOOD + "\n" + extra)
    assert "\n" not in str(caught.value)


def test_an_agency_without_jurisdiction_is_refused_when_working_days_are_used() -> None:
    without_default = with_working_days().calendars.by_agency
    policy = parse_policy(
        GOOD.replace('response = "24h"\noutcome = "7d"', 'response = "3wd"\noutcome = "7d"')
        + CALENDARS.replace('"*" = "denmark"\n', "")
    )
    assert dict(policy.calendars.by_agency) == dict(without_default)
    require_calendars(policy, [SCHOOL])
    with pytest.raises(
        PolicyError,
        match=r"^agency 'hospital-east' \(and 1 more\) has no jurisdiction for working-day"
        r" deadlines: map it in \[agencies\] of the SLA policy$",
    ):
        require_calendars(policy, [SCHOOL, "social-north", RECIPIENT])
    # Clock durations only: no calendar is needed, none is asked for.
    require_calendars(DEFAULT_POLICY, [SCHOOL, RECIPIENT])


def test_working_day_deadlines_are_counted_in_the_recipients_calendar() -> None:
    policy = with_working_days()
    friday = at("2026-04-10T10:00+02:00")  # before Songkran in Bangkok, a plain Friday in Denmark
    for recipient, response, escalation in [
        (RECIPIENT, "2026-04-15T17:00+02:00", "2026-04-20T17:00+02:00"),  # denmark, by "*"
        (SCHOOL, "2026-04-20T17:00+07:00", "2026-04-23T17:00+07:00"),  # Songkran skipped
    ]:
        thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
        state = states(thread, thread.original(friday, recipient=recipient))
        assert deadlines(state, policy) == Deadlines(friday + 4 * HOUR, at(response))
        assert escalations(state, policy).response_due == at(escalation)
        assert current_deadline(state, policy) == friday + 4 * HOUR


def test_a_respond_by_earlier_than_working_days_still_wins() -> None:
    policy = with_working_days()
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    state = states(thread, thread.original(T0, respond_by=T0 + HOUR))
    assert deadlines(state, policy).response_due == T0 + HOUR
    assert escalations(state, policy).response_due == T0 + 2 * HOUR


def test_no_working_day_deadline_is_guessed_for_an_agency_without_jurisdiction() -> None:
    policy = parse_policy(
        GOOD.replace('response = "24h"\noutcome = "7d"', 'response = "3wd"\noutcome = "7d"')
    )
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    state = states(thread, thread.original(T0))
    assert deadlines(state, policy) == Deadlines(T0 + 4 * HOUR, None)
    # The sender's own respond-by is no guess: it still counts.
    with_by = states(thread, thread.original(T0, respond_by=T0 + DAY))
    assert deadlines(with_by, policy) == Deadlines(T0 + 4 * HOUR, T0 + DAY)


# --- outcome -----------------------------------------------------------------------------

REMINDERS = {(L.REMINDER, Audience.RECIPIENT), (L.REMINDER, Audience.COORDINATORS)}
ESCALATIONS = {
    (L.ESCALATION, Audience.COORDINATORS),
    (L.ESCALATION, Audience.SENDER_SUPERVISORS),
    (L.ESCALATION, Audience.RECIPIENT_SUPERVISORS),
}


def rungs(alerts: list[PlannedAlert]) -> set[tuple[AlertLevel, Audience]]:
    return {(a.level, a.audience) for a in alerts if a.reason is R.COMPLETION_OVERDUE}


@pytest.mark.parametrize(
    ("kind", "urgency", "outcome"),
    [
        (MessageKind.REFERRAL, Urgency.EMERGENCY, DAY),
        (MessageKind.REFERRAL, Urgency.NORMAL, 7 * DAY),
        (MessageKind.TRANSFER, None, 30 * DAY),
    ],
)
def test_an_accepted_thread_not_completed_climbs_the_ladder(
    kind: MessageKind, urgency: Urgency | None, outcome: int
) -> None:
    thread = Thread(kind, urgency)
    sent = thread.original(T0)
    accepted_at = T0 + 10 * MINUTE
    events = [sent, thread.answer(sent, A.RECEIVED, T0 + MINUTE)]
    events.append(thread.answer(sent, A.ACCEPTED, accepted_at))
    state = states(thread, *events)
    assert deadlines(state, DEFAULT_POLICY).outcome_due == accepted_at + outcome
    assert current_deadline(state, DEFAULT_POLICY) == accepted_at + outcome
    assert next_check_at(state, DEFAULT_POLICY, set(), refused_by=T0) == accepted_at + outcome
    assert due_alerts(state, DEFAULT_POLICY, accepted_at + outcome - 1, set()) == []
    reminder = due_alerts(state, DEFAULT_POLICY, accepted_at + outcome, set())
    assert rungs(reminder) == REMINDERS
    assert {a.overdue_seconds for a in reminder} == {0}
    assert {a.deadline for a in reminder} == {accepted_at + outcome}
    keys = {a.key for a in reminder}
    assert rungs(due_alerts(state, DEFAULT_POLICY, accepted_at + 2 * outcome, keys)) == ESCALATIONS
    # Completed, even late, ends it.
    done = states(thread, *events, thread.answer(sent, A.COMPLETED, accepted_at + outcome + 1))
    assert due_alerts(done, DEFAULT_POLICY, accepted_at + 3 * outcome, keys) == []
    assert current_deadline(done, DEFAULT_POLICY) is None


def test_the_outcome_counts_working_days_from_the_acceptance() -> None:
    policy = with_working_days()
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(at("2026-12-21T09:00+01:00"), recipient=SCHOOL)
    accepted = thread.answer(sent, A.ACCEPTED, at("2026-12-22T11:00+07:00"))
    state = states(thread, sent, accepted)
    # Ten Thai working days from Tuesday 22 December: 31 December and 1 January are holidays.
    assert deadlines(state, policy).outcome_due == at("2027-01-07T17:00+07:00")
    assert escalations(state, policy).outcome_due == at("2027-01-21T17:00+07:00")


def test_no_outcome_deadline_before_acceptance_or_after_a_withdrawal() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    sent = thread.original(T0)
    accepted = thread.answer(sent, A.ACCEPTED, T0 + HOUR)
    assert deadlines(states(thread, sent), DEFAULT_POLICY).outcome_due is None
    withdrawn = states(thread, sent, accepted, thread.answer(sent, A.WITHDRAWN, T0 + 2 * HOUR))
    assert due_alerts(withdrawn, DEFAULT_POLICY, T0 + 30 * DAY, set()) == []
