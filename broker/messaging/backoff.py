"""Capped exponential backoff with jitter, as a pure function of the attempt number."""

import random

BASE_DELAY_S = 0.5
MAX_DELAY_S = 60.0
# Retries while the broker is down or refuses: one attempt every few seconds at most costs
# the broker nothing, and delivery resumes within seconds of its return. A message-specific
# failure (unroutable, nacked) keeps MAX_DELAY_S: retrying it sooner changes nothing.
OUTAGE_MAX_DELAY_S = 5.0


def backoff_delay(
    attempt: int, *, cap_s: float = MAX_DELAY_S, rng: random.Random | None = None
) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt >= 1): 0.5 s doubling to `cap_s`.

    Jitter between half and all of the step, so gateways that lost the broker together do
    not all come back in the same instant.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    step = min(cap_s, BASE_DELAY_S * 2.0 ** min(attempt - 1, 30))
    draw: float = (rng or random).random()
    return step * (0.5 + draw / 2)
