"""Backoff doubles from 0.5 s with jitter, up to its cap."""

import random

import pytest

from broker.messaging.backoff import MAX_DELAY_S, OUTAGE_MAX_DELAY_S, backoff_delay


def test_it_doubles_with_jitter_between_half_and_all_of_the_step() -> None:
    rng = random.Random(3)
    for attempt, step in ((1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)):
        delays = [backoff_delay(attempt, rng=rng) for _ in range(200)]
        assert step / 2 <= min(delays)
        assert max(delays) <= step
        assert max(delays) - min(delays) > step / 4  # jittered, not fixed


@pytest.mark.parametrize("cap", [OUTAGE_MAX_DELAY_S, MAX_DELAY_S])
def test_it_never_exceeds_its_cap(cap: float) -> None:
    assert max(backoff_delay(attempt, cap_s=cap) for attempt in range(1, 200)) <= cap


def test_an_outage_is_retried_within_a_few_seconds() -> None:
    # However long the outage, the next attempt is at most 5 s away.
    assert max(backoff_delay(attempt, cap_s=OUTAGE_MAX_DELAY_S) for attempt in (50, 500)) <= 5.0


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        backoff_delay(0)
