"""SLA policy: the TOML file, its parser's refusals, and the deadlines it gives each thread."""

from pathlib import Path

import pytest

from broker.errors import CaselinkError
from broker.tracker.errors import PolicyError
from broker.tracker.policy import (
    DEFAULT_POLICY,
    Deadlines,
    Sla,
    deadlines,
    parse_duration,
    parse_policy,
)
from broker.tracker.state import thread_state
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, MINUTE, T0, Thread

SLA_TOML = Path(__file__).resolve().parents[3] / "deploy" / "tracker" / "sla.toml"
GOOD = SLA_TOML.read_text(encoding="utf-8")


def test_the_deployed_file_is_the_default_policy() -> None:
    assert parse_policy(GOOD) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("urgency", "delivery", "response", "outcome"),
    [
        (Urgency.EMERGENCY, 15 * MINUTE, 1 * HOUR, DAY),
        (Urgency.HIGH, 1 * HOUR, 3 * HOUR, 3 * DAY),
        (Urgency.NORMAL, 4 * HOUR, 24 * HOUR, 7 * DAY),
        (Urgency.LOW, 24 * HOUR, 72 * HOUR, 14 * DAY),
    ],
)
def test_referral_defaults_follow_practice(
    urgency: Urgency, delivery: int, response: int, outcome: int
) -> None:
    assert DEFAULT_POLICY.referral[urgency] == Sla(delivery, response, outcome)


def test_transfer_and_consent_defaults() -> None:
    assert DEFAULT_POLICY.transfer.response == 5 * DAY
    assert DEFAULT_POLICY.transfer.outcome == 30 * DAY
    assert DEFAULT_POLICY.consent_withdrawal == Sla(24 * HOUR, None)


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("4h", 14_400), ("5d", 432_000)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text, "x") == seconds


@pytest.mark.parametrize("text", ["15", "m", "0m", "1.5h", "15 m", "-1h", "1w", "", "15M", 15])
def test_bad_durations_are_refused_with_their_place(text: object) -> None:
    with pytest.raises(
        PolicyError, match=r'^referral\.high\.delivery: expected a duration like "15m"'
    ):
        parse_duration(text, "referral.high.delivery")


def _without(line: str) -> str:
    assert line in GOOD  # the edit below must really change the file
    return GOOD.replace(line, "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[referral\n", r"^not valid TOML: .*line 1"),
        (GOOD + "\n[sweep]\nevery = '1m'\n", r"^the policy: unknown key 'sweep'$"),
        (
            GOOD.replace("[referral.low]", "[referral.later]"),
            r"^\[referral\]: unknown key 'later'$",
        ),
        (
            GOOD.replace('delivery = "4h"\nresponse = "24h"', 'delivery = "4h"'),
            r"^\[referral\.normal\]: missing response$",
        ),
        (GOOD + "\n[transfer.extra]\n", r"^\[transfer\]: unknown key 'extra'$"),
        (
            GOOD.replace('response = "5d"', 'response = "5d"\nrespons = "6d"'),
            r"^\[transfer\]: unknown key 'respons'$",
        ),
        (GOOD.replace('"5d"', '"5 days"'), r"^transfer\.response: expected a duration"),
        (GOOD.replace('"5d"', "5"), r"^transfer\.response: expected a duration"),
        (
            GOOD.replace('delivery = "24h"\nresponse = "72h"', 'delivery = "4d"\nresponse = "72h"'),
            r"^\[referral\.low\]: delivery must not be later than response$",
        ),
        (
            GOOD.replace('response = "1h"', 'response = "1d"'),
            r"^\[referral\.emergency\] must not be later than \[referral\.high\]$",
        ),
        (
            GOOD.replace('acknowledgement = "24h"', 'acknowledgement = "24h"\n"a\\nb" = 1'),
            r"^\[consent_withdrawal\]: unknown key 'a\\nb'$",
        ),
        (
            _without('[consent_withdrawal]\nacknowledgement = "24h"\n'),
            r"^missing \[consent_withdrawal\]$",
        ),
        ("referral = 1\n" + GOOD.split("[referral.emergency]")[0], r"^referral must be a table$"),
    ],
)
def test_policy_mistakes_are_one_line_policy_errors(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        parse_policy(text)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, CaselinkError)
    assert caught.value.reason == "invalid_sla_policy"


def test_a_missing_urgency_is_refused() -> None:
    text = GOOD.replace('[referral.high]\ndelivery = "1h"\nresponse = "3h"\noutcome = "3d"\n', "")
    assert text != GOOD
    with pytest.raises(PolicyError, match=r"^missing \[referral\.high\]$"):
        parse_policy(text)


def test_a_custom_policy_is_read() -> None:
    policy = parse_policy(GOOD.replace('response = "5d"', 'response = "7d"'))
    assert policy.transfer == Sla(4 * HOUR, 7 * DAY, 30 * DAY)
    assert policy.referral == DEFAULT_POLICY.referral


# --- deadlines ---------------------------------------------------------------------------


@pytest.mark.parametrize("urgency", list(Urgency))
def test_referral_deadlines_per_urgency(urgency: Urgency) -> None:
    thread = Thread(MessageKind.REFERRAL, urgency)
    state = thread_state(thread.thread_id, [thread.original(T0)])
    sla = DEFAULT_POLICY.referral[urgency]
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(
        T0 + sla.delivery, T0 + (sla.response or 0)
    )


def test_a_referral_without_urgency_counts_as_normal() -> None:
    thread = Thread(MessageKind.REFERRAL, None)
    state = thread_state(thread.thread_id, [thread.original(T0)])
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(T0 + 4 * HOUR, T0 + 24 * HOUR)


def test_transfer_deadlines() -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    state = thread_state(thread.thread_id, [thread.original(T0)])
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(T0 + 4 * HOUR, T0 + 5 * DAY)


def test_consent_withdrawal_deadline_is_the_acknowledgement_only() -> None:
    thread = Thread(MessageKind.CONSENT, None)
    events = [
        thread.original(T0, recipient="school-a"),
        thread.original(T0 + 5, recipient="clinic-c"),
    ]
    state = thread_state(thread.thread_id, events)
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(T0 + 24 * HOUR, None)


@pytest.mark.parametrize(
    ("respond_by", "response_due"),
    [
        (T0 + 2 * HOUR, T0 + 2 * HOUR),  # earlier than the policy's 24 h: it wins
        (T0 + 48 * HOUR, T0 + 24 * HOUR),  # later: the policy stands
        (T0 + 24 * HOUR, T0 + 24 * HOUR),
        (T0, T0 + 24 * HOUR),  # not after the issue time: a sender's mistake, ignored
        (T0 - HOUR, T0 + 24 * HOUR),
        (None, T0 + 24 * HOUR),
    ],
)
def test_respond_by_wins_when_earlier(respond_by: int | None, response_due: int) -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.NORMAL)
    state = thread_state(thread.thread_id, [thread.original(T0, respond_by=respond_by)])
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(T0 + 4 * HOUR, response_due)


def test_respond_by_also_shortens_a_transfer() -> None:
    thread = Thread(MessageKind.TRANSFER, None)
    state = thread_state(thread.thread_id, [thread.original(T0, respond_by=T0 + DAY)])
    assert deadlines(state, DEFAULT_POLICY).response_due == T0 + DAY


def test_deadlines_run_from_the_original_even_when_resent() -> None:
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    state = thread_state(thread.thread_id, [thread.original(T0 + HOUR), thread.original(T0)])
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(T0 + HOUR, T0 + 3 * HOUR)


def test_no_deadlines_while_the_original_is_unknown() -> None:
    thread = Thread()
    answer = thread.answer(thread.original(), AckStatus.RECEIVED, T0)
    state = thread_state(thread.thread_id, [answer])
    assert deadlines(state, DEFAULT_POLICY) == Deadlines(None, None)
