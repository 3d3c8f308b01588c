"""The Standard Webhooks retry schedule: what follows each answer of the police system."""

from email.utils import formatdate

import pytest

from adapters.police.schedule import (
    MAX_RETRY_AFTER_S,
    STANDARD_SCHEDULE_S,
    Outcome,
    Verdict,
    decide,
    retry_after_s,
)

NOW = 1_700_000_000.0


def test_the_standard_schedule_then_given_up() -> None:
    delays = []
    for attempts in range(1, len(STANDARD_SCHEDULE_S) + 1):
        verdict = decide(500, attempts=attempts, now=NOW)
        if verdict.outcome is Outcome.GIVEN_UP:
            break
        assert verdict.next_attempt_at is not None
        delays.append(verdict.next_attempt_at - NOW)
    hours = 3600
    assert delays == [5, 300, 1800, 2 * hours, 5 * hours, 10 * hours, 14 * hours, 20 * hours,
                      24 * hours]  # fmt: skip
    assert decide(500, attempts=10, now=NOW) == Verdict(Outcome.GIVEN_UP)


@pytest.mark.parametrize("status", [200, 202, 204, 299])
def test_only_2xx_delivers(status: int) -> None:
    assert decide(status, attempts=10, now=NOW) == Verdict(Outcome.DELIVERED)


@pytest.mark.parametrize("status", [None, 301, 302, 307, 400, 404, 500])
def test_anything_else_is_retried(status: int | None) -> None:
    assert decide(status, attempts=1, now=NOW) == Verdict(Outcome.RETRY, NOW + 5)


def test_gone_gives_up_at_once() -> None:
    assert decide(410, attempts=1, now=NOW) == Verdict(Outcome.GIVEN_UP)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retry_after_is_honoured_when_throttled(status: int) -> None:
    assert decide(status, attempts=1, now=NOW, retry_after="120").next_attempt_at == NOW + 120
    dated = formatdate(NOW + 600, usegmt=True)
    assert decide(status, attempts=1, now=NOW, retry_after=dated).next_attempt_at == NOW + 600
    # Never sooner than the schedule, never later than a day.
    assert decide(status, attempts=2, now=NOW, retry_after="1").next_attempt_at == NOW + 300
    assert decide(status, attempts=1, now=NOW, retry_after="999999").next_attempt_at == (
        NOW + 86400
    )
    assert decide(status, attempts=1, now=NOW, retry_after="soon").next_attempt_at == NOW + 5


def test_retry_after_is_ignored_on_other_failures() -> None:
    assert decide(500, attempts=1, now=NOW, retry_after="120").next_attempt_at == NOW + 5


def test_a_short_schedule_for_tests() -> None:
    assert decide(None, attempts=1, now=NOW, schedule=(0, 0.1)).next_attempt_at == NOW + 0.1
    assert decide(None, attempts=2, now=NOW, schedule=(0, 0.1)).outcome is Outcome.GIVEN_UP


def test_a_retry_after_the_receiver_writes_badly_is_ignored_or_capped() -> None:
    # "²" is a digit to str.isdigit and not to int(); 5,000 digits pass Python's int limit.
    assert retry_after_s("²", 0.0) is None
    assert retry_after_s("9" * 5000, 0.0) == MAX_RETRY_AFTER_S
