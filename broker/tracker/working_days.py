"""Deadlines counted in working days, as the law counts them (pure: no I/O).

A jurisdiction is a country (ISO 3166-1, optionally a subdivision) whose public holidays
the `holidays` package computes, the time zone its agencies work in, and their close of
business. N working days after a start end at the close of business of the Nth working day
after the start's local date: the day of the start is not counted (as in EU Regulation
1182/71 and most national rules), so a referral received on Friday afternoon with "1wd" is
due on Monday at close of business, never on Friday evening. Weekends (the country's own:
`holidays` knows where Friday and Saturday are the weekend) and public holidays are skipped,
so such a deadline always ends on a working day; a start in a weekend or holiday counts from
the next working day.

Close of business is a wall-clock time: across a daylight-saving change it stays 17:00
local, so the Unix time moves by the hour the clocks moved. zoneinfo resolves a local time
that does not exist (skipped by a change) by the offset before it, as `datetime` does.

The holiday objects compute a year's holidays the first time a date in it is asked, and
keep them: calls stay pure in result, and a year's rules are computed once per process.
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from broker.tracker.errors import PolicyError

DEFAULT_CLOSE_OF_BUSINESS = time(17, 0)
_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
# No real calendar goes a year without a working day: this only stops a broken one looping.
_MAX_DAYS_OFF_IN_A_ROW = 366


@dataclass(frozen=True, slots=True)
class WorkingDays:
    """A duration of `days` working days (the policy's "3wd")."""

    days: int

    def __str__(self) -> str:
        return f"{self.days}wd"


@dataclass(frozen=True)
class Jurisdiction:
    """Where an agency works: its holidays, time zone and close of business.

    Build it with `jurisdiction`, which checks the country, subdivision and zone. Two are
    equal when they name the same place, zone and closing time (the calendar follows).
    """

    country: str
    subdivision: str | None
    zone: ZoneInfo
    close_of_business: time
    calendar: holidays.HolidayBase = field(compare=False, repr=False)

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is neither in the country's weekend nor a public holiday."""
        return day.weekday() not in self.calendar.weekend and day not in self.calendar

    def close_of(self, day: date) -> int:
        """Unix seconds of the close of business on `day`, local time."""
        local = datetime.combine(day, self.close_of_business, tzinfo=self.zone)
        return int(local.timestamp())


def jurisdiction(
    country: str,
    subdivision: str | None,
    time_zone: str,
    close_of_business: str | None = None,
    *,
    where: str = "jurisdiction",
) -> Jurisdiction:
    """A checked Jurisdiction; raises PolicyError (one line naming `where`) when the country,
    subdivision, time zone or close of business ("HH:MM") is not known or well formed."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise PolicyError(f"{where}: unknown time zone {time_zone!r}") from error
    closing = DEFAULT_CLOSE_OF_BUSINESS
    if close_of_business is not None:
        match = _CLOCK.fullmatch(close_of_business)
        if match is None:
            raise PolicyError(f'{where}: close_of_business must be like "17:00"')
        closing = time(int(match[1]), int(match[2]))
    try:
        calendar = holidays.country_holidays(country, subdiv=subdivision)
    except NotImplementedError as error:
        place = country if subdivision is None else f"{country}-{subdivision}"
        raise PolicyError(f"{where}: no holiday calendar for {place!r}") from error
    return Jurisdiction(country, subdivision, zone, closing, calendar)


def working_deadline(start: int, duration: WorkingDays, place: Jurisdiction) -> int:
    """Unix seconds at which `duration` working days after `start` (Unix seconds) end in
    `place`: the close of business of the Nth working day after the start's local date."""
    day = datetime.fromtimestamp(start, UTC).astimezone(place.zone).date()
    counted = off_in_a_row = 0
    while counted < duration.days:
        day += timedelta(days=1)
        if place.is_working_day(day):
            counted, off_in_a_row = counted + 1, 0
        elif (off_in_a_row := off_in_a_row + 1) > _MAX_DAYS_OFF_IN_A_ROW:
            raise PolicyError(f"{place.country}: no working day in a year of its calendar")
    return place.close_of(day)
