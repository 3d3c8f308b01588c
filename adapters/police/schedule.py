"""When to try a callback again, from what the police system answered (pure).

Standard Webhooks' schedule: an attempt now, then after 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h (about three days in all); then the callback is given up and the
agency's operators see it (`GET /police/callbacks`, the log line). Only a 2xx answer
delivers; a redirect is a failure (it is not followed: the callback goes to the configured
URL only); 410 Gone gives up at once (the endpoint is disabled). On 429, 502, 503 and 504 a
`Retry-After` is honoured: the next attempt waits at least that long, at most a day.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum

STANDARD_SCHEDULE_S: tuple[float, ...] = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
)
"""Delay before each attempt, after the previous one failed; the first is immediate."""

MAX_RETRY_AFTER_S = 24 * 3600
THROTTLING = frozenset({429, 502, 503, 504})


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GIVEN_UP = "given_up"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    next_attempt_at: float | None = None  # set exactly when RETRY


def retry_after_s(value: str | None, now: float) -> float | None:
    """A `Retry-After` header's wait in seconds (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    # ASCII digits only, and few of them: `isdigit` alone takes "²", which int() refuses,
    # and the receiver writes this header.
    if value.isascii() and value.isdigit():
        return float(min(int(value[:12]), MAX_RETRY_AFTER_S))
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(when - now, 0.0), MAX_RETRY_AFTER_S)


def decide(
    status: int | None,
    *,
    attempts: int,
    now: float,
    schedule: Sequence[float] = STANDARD_SCHEDULE_S,
    retry_after: str | None = None,
) -> Verdict:
    """What follows an attempt that got HTTP `status` (None: no answer: refused, timed out).

    `attempts` counts the attempts made, this one included; the schedule has one entry per
    attempt, so after `len(schedule)` failures the callback is given up.
    """
    if status is not None and 200 <= status < 300:
        return Verdict(Outcome.DELIVERED)
    if status == 410 or attempts >= len(schedule):
        return Verdict(Outcome.GIVEN_UP)
    delay = schedule[attempts]
    if status in THROTTLING:
        asked = retry_after_s(retry_after, now)
        if asked is not None:
            delay = max(delay, asked)
    return Verdict(Outcome.RETRY, now + delay)
