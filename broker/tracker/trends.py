"""The weeks of the dashboard's trends, and what counts as a missed deadline in them (pure).

A week starts on Monday 00:00 UTC (ISO 8601) and is named by that instant in Unix seconds.
A thread belongs to the week its original was issued in (the sender's `issued_at`, as every
other figure here). It counts as overdue at its deadline for a recipient when the tracker
raised that recipient a reminder for a missed delivery or response deadline: the tracker's
own record of the deadline passing unmet, kept whatever the answer later said, and judged
by the SLA policy in force at the time.
"""

from schemas.alert import AlertLevel, AlertReason

WEEK = 7 * 86_400
_FIRST_MONDAY = 4 * 86_400  # 1970-01-05 00:00 UTC: the epoch itself was a Thursday
TREND_WEEKS = 52
"""How many weeks the trends show: about a year, the current week last."""

MISSED_LEVEL = AlertLevel.REMINDER.value
MISSED_REASONS = frozenset({AlertReason.DELIVERY_OVERDUE.value, AlertReason.RESPONSE_OVERDUE.value})
"""The alert reasons of a receipt or answer deadline passing unmet."""


def week_start(at: int) -> int:
    """The Monday 00:00 UTC starting the week that holds `at` (Unix seconds)."""
    return at - (at - _FIRST_MONDAY) % WEEK


def trend_window(now: int, weeks: int = TREND_WEEKS) -> tuple[int, int]:
    """[since, until): the `weeks` whole weeks ending with the one holding `now`."""
    current = week_start(now)
    return current - (weeks - 1) * WEEK, current + WEEK


def weeks_in(since: int, until: int) -> list[int]:
    """The starts of the weeks in [since, until); `since` must be a week's start."""
    return list(range(since, until, WEEK))
