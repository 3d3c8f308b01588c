"""Capped exponential backoff with jitter, as a pure function of the attempt number."""

import random

BASE_DELAY_S = 0.5
MAX_DELAY_S = 60.0


def backoff_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait before attempt `attempt + 1` (attempt >= 1): 0.5 s doubling, 60 s cap.

    Full jitter between half and all of the step, so gateways that lost the broker together
    do not all come back in the same instant.
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    step = min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** min(attempt - 1, 30))
    draw: float = (rng or random).random()
    return step * (0.5 + draw / 2)
