"""Working-day deadlines in two jurisdictions (Denmark, Thailand), and England beside
Scotland: across a weekend, a public holiday, a daylight-saving change and a year end."""

from datetime import datetime

import pytest

from broker.errors import CaselinkError
from broker.tracker.errors import PolicyError
from broker.tracker.working_days import WorkingDays, jurisdiction, working_deadline

DK = jurisdiction("DK", None, "Europe/Copenhagen")
TH = jurisdiction("TH", None, "Asia/Bangkok")
ENG = jurisdiction("GB", "ENG", "Europe/London")
SCT = jurisdiction("GB", "SCT", "Europe/London")


def at(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp())


@pytest.mark.parametrize(
    ("start", "days", "denmark", "thailand"),
    [
        # Weekend: Friday afternoon, one working day: Monday's close, not Friday evening.
        ("2026-03-06T15:00+01:00", 1, "2026-03-09T17:00+01:00", "2026-03-09T17:00+07:00"),
        # The start's local date counts, not UTC's: 23:30 UTC Thursday is Friday in both.
        ("2026-03-05T23:30+00:00", 1, "2026-03-09T17:00+01:00", "2026-03-09T17:00+07:00"),
        # A start on Saturday counts from Monday.
        ("2026-03-07T11:00+01:00", 1, "2026-03-09T17:00+01:00", "2026-03-09T17:00+07:00"),
        # Public holidays: Danish Easter (Thu 2, Fri 3, Mon 6 April 2026); Thailand works
        # through it, and stops for Songkran (Mon 13 to Wed 15 April), which Denmark works.
        ("2026-04-01T10:00+02:00", 1, "2026-04-07T17:00+02:00", "2026-04-02T17:00+07:00"),
        ("2026-04-10T10:00+02:00", 1, "2026-04-13T17:00+02:00", "2026-04-16T17:00+07:00"),
        # Daylight saving: Denmark moves to CEST on Sunday 29 March 2026; Thailand has none.
        ("2026-03-27T12:00+01:00", 1, "2026-03-30T17:00+02:00", "2026-03-30T17:00+07:00"),
        # Year end: 25 and 26 December, 31 December (Thailand) and 1 January are holidays.
        ("2026-12-23T12:00+01:00", 2, "2026-12-28T17:00+01:00", "2026-12-25T17:00+07:00"),
        ("2026-12-30T12:00+01:00", 1, "2026-12-31T17:00+01:00", "2027-01-04T17:00+07:00"),
        ("2026-12-30T12:00+01:00", 2, "2027-01-04T17:00+01:00", "2027-01-05T17:00+07:00"),
        # A longer count over a weekend and Denmark's Ascension Day (Thursday 14 May 2026).
        ("2026-05-11T09:00+02:00", 5, "2026-05-19T17:00+02:00", "2026-05-18T17:00+07:00"),
    ],
)
def test_deadlines_in_denmark_and_thailand(
    start: str, days: int, denmark: str, thailand: str
) -> None:
    assert working_deadline(at(start), WorkingDays(days), DK) == at(denmark)
    assert working_deadline(at(start), WorkingDays(days), TH) == at(thailand)


def test_a_daylight_saving_change_keeps_the_wall_clock() -> None:
    friday = at("2026-03-27T09:00+01:00")
    monday = working_deadline(friday, WorkingDays(1), DK)
    friday_close = at("2026-03-27T17:00+01:00")
    # 17:00 on both sides of the change: 71 hours apart in Denmark, 72 in Thailand.
    assert monday - friday_close == 71 * 3600
    th_friday_close = at("2026-03-27T17:00+07:00")
    assert working_deadline(friday, WorkingDays(1), TH) - th_friday_close == 72 * 3600


def test_a_subdivision_has_its_own_holidays() -> None:
    # Scotland's summer bank holiday is the first Monday of August, England's the last.
    friday = at("2026-07-31T12:00+01:00")
    assert working_deadline(friday, WorkingDays(1), ENG) == at("2026-08-03T17:00+01:00")
    assert working_deadline(friday, WorkingDays(1), SCT) == at("2026-08-04T17:00+01:00")


def test_close_of_business_is_configurable() -> None:
    early = jurisdiction("TH", None, "Asia/Bangkok", "16:30")
    start = at("2026-03-06T15:00+07:00")
    assert working_deadline(start, WorkingDays(1), early) == at("2026-03-09T16:30+07:00")
    assert early != TH  # another closing time is another jurisdiction


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("XX", None, "Europe/Copenhagen"), r"^here: no holiday calendar for 'XX'$"),
        (("GB", "ZZZ", "Europe/London"), r"^here: no holiday calendar for 'GB-ZZZ'$"),
        (("DK", None, "Europe/Kobenhavn"), r"^here: unknown time zone 'Europe/Kobenhavn'$"),
        (("DK", None, "../../etc/passwd"), r"^here: unknown time zone '../../etc/passwd'$"),
        (("DK", None, "Europe/Copenhagen", "5pm"), r"^here: close_of_business must be like"),
        (("DK", None, "Europe/Copenhagen", "24:00"), r"^here: close_of_business must be like"),
    ],
)
def test_unknown_places_are_one_line_policy_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(PolicyError, match=message) as caught:
        jurisdiction(*args, where="here")  # type: ignore[arg-type]
    assert isinstance(caught.value, CaselinkError)
    assert "\n" not in str(caught.value)
