"""Times, dates, durations and numbers as a reader of one language and time zone writes them.

Babel's CLDR data does the work (month names, the order of day and month, digit grouping).
Dates stay in the Gregorian calendar in every language, Thai included, so that a deadline
reads as the same day to every agency on a thread.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time, format_timedelta
from babel.numbers import format_decimal
from babel.units import format_unit

DASH = "\u2014"


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows (for users files)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class Formats:
    """Formatting for one reader; times are Unix seconds, None shows as an em dash."""

    language: str = "en"
    time_zone: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def when(self, seconds: float | None) -> str:
        """A moment, in the reader's zone and form, with the zone named."""
        if seconds is None:
            return DASH
        moment = datetime.fromtimestamp(seconds, UTC)
        text = format_datetime(moment, "short", tzinfo=self.zone, locale=self.language)
        return f"{text} {self._zone_label(moment)}"

    def day(self, seconds: float | None) -> str:
        """The date of a moment in the reader's zone, medium form (3 Dec 2026)."""
        if seconds is None:
            return DASH
        moment = datetime.fromtimestamp(seconds, UTC).astimezone(self.zone)
        return format_date(moment.date(), "medium", locale=self.language)

    def clock(self, seconds: float) -> str:
        """The time of day of a moment (a live list's last refresh), with seconds."""
        moment = datetime.fromtimestamp(seconds, UTC)
        return format_time(moment, "medium", tzinfo=self.zone, locale=self.language)

    def stamp(self, seconds: float) -> str:
        """When a live list was read, with the zone named: on its page and in its fragment's
        X-Updated-At header, which must be Latin-1 (HTTP); a form that is not (a clock in
        another script) falls back to the time in digits."""
        zone = self.zone_name(seconds)
        text = f"{self.clock(seconds)} {zone}".replace("\u202f", " ").replace("\xa0", " ")
        try:
            text.encode("latin-1")
        except UnicodeEncodeError:
            digits = Formats("en", self.time_zone).clock(seconds).replace("\u202f", " ")
            return f"{digits} {zone}"
        return text

    def duration(self, seconds: float | None) -> str:
        """A span in words of the reader's language, to its largest unit (3 days, 2 hours)."""
        if seconds is None:
            return DASH
        span = timedelta(seconds=max(seconds, 0))
        return format_timedelta(span, threshold=1.0, format="short", locale=self.language)

    def span(self, seconds: float | None) -> str:
        """A span to its two largest units, narrow (6h 0m, 9d 4h, 45m, 40s): for lateness and
        ages, where `duration`'s rounding to one unit would hide an hour or a day."""
        if seconds is None:
            return DASH
        total = max(int(seconds), 0)
        days, rest = divmod(total, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        if days:
            parts = [(days, "day"), (hours, "hour")]
        elif hours:
            parts = [(hours, "hour"), (minutes, "minute")]
        else:
            parts = [(minutes, "minute")] if minutes else [(secs, "second")]
        # Joined by a space: CLDR's narrow unit lists are partial in some locales (Thai).
        return " ".join(
            format_unit(value, f"duration-{unit}", length="narrow", locale=self.language)
            for value, unit in parts
        )

    def zone_name(self, seconds: float) -> str:
        """The reader's zone as it is called at a moment (CET, CEST, +07, UTC)."""
        return self._zone_label(datetime.fromtimestamp(seconds, UTC))

    def number(self, value: float | None) -> str:
        """A count or figure with the reader's digit grouping."""
        return DASH if value is None else format_decimal(value, locale=self.language)

    def _zone_label(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).tzname() or self.time_zone
