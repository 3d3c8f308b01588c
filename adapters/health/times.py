"""FHIR instants and Caselink's Unix seconds (pure)."""

from datetime import UTC, datetime


def instant(seconds: float) -> str:
    """A FHIR instant, UTC, to the millisecond: `2025-03-01T09:30:00.250Z`."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seconds_of(value: str) -> float | None:
    """Unix seconds of a FHIR instant, dateTime or date (a date is its midnight UTC); None
    when it does not parse or has no time zone where it has a time."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        if "T" in value:
            return None
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
