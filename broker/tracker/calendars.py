"""Which jurisdiction each agency works in: the SLA policy's calendars (pure: no I/O).

A working-day deadline is counted in the calendar of the agency that must act (the
recipient): its public holidays, time zone and close of business. The policy names
jurisdictions once and maps agencies to them:

    [jurisdictions.denmark]
    country = "DK"                  # ISO 3166-1 alpha-2, as the `holidays` package knows it
    time_zone = "Europe/Copenhagen"
    # subdivision = "..."           # a region with holidays of its own (e.g. "ENG" in GB)
    # close_of_business = "16:00"   # local; "17:00" when left out

    [agencies]
    aarhus-social = "denmark"
    "*" = "denmark"                 # every agency not named (optional)

Per agency, not per the directory's `region`: the region is a free-text label in the
root-signed directory ("unspecified" unless set), chosen for people, not for law, and it
cannot carry a time zone; a mapping in the policy is checked when the policy is read, and a
federation in one country says so in one line with "*". Nothing is guessed: an agency
with no jurisdiction has no working-day deadline, and the tracker refuses to start when
the policy has working days and an agency of its directory has none (`uncovered`).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from broker.tracker.errors import PolicyError
from broker.tracker.working_days import Jurisdiction, jurisdiction

EVERY_OTHER = "*"
_AGENCY = re.compile(r"[a-z][a-z0-9-]{1,30}[a-z0-9]")
_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_JURISDICTION_KEYS = {"country", "subdivision", "time_zone", "close_of_business"}


@dataclass(frozen=True)
class AgencyCalendars:
    """Each agency's jurisdiction; `every_other` serves agencies not named (None: nobody)."""

    by_agency: Mapping[str, Jurisdiction] = field(default_factory=lambda: MappingProxyType({}))
    every_other: Jurisdiction | None = None

    def of(self, agency: str) -> Jurisdiction | None:
        """The jurisdiction `agency` works in; None when none is configured."""
        return self.by_agency.get(agency, self.every_other)

    def uncovered(self, agencies: Iterable[str]) -> list[str]:
        """The agencies among `agencies` with no jurisdiction, sorted."""
        return sorted({agency for agency in agencies if self.of(agency) is None})


NO_CALENDARS = AgencyCalendars()


def parse_calendars(document: Mapping[str, object]) -> AgencyCalendars:
    """The calendars in a policy's `[jurisdictions]` and `[agencies]` tables (both optional).

    Raises PolicyError (one line) for an unknown country, subdivision or time zone, a bad
    close of business, an agency id that is not one, or an agency mapped to a jurisdiction
    not defined.
    """
    defined = {
        name: _jurisdiction(name, table)
        for name, table in _mapping(document, "jurisdictions").items()
    }
    by_agency: dict[str, Jurisdiction] = {}
    every_other = None
    for agency, name in _mapping(document, "agencies").items():
        if agency != EVERY_OTHER and not _AGENCY.fullmatch(agency):
            raise PolicyError(f"[agencies]: {agency!r} is not an agency id")
        if not isinstance(name, str) or name not in defined:
            raise PolicyError(f"agencies.{agency}: no [jurisdictions.{name}] defined")
        if agency == EVERY_OTHER:
            every_other = defined[name]
        else:
            by_agency[agency] = defined[name]
    return AgencyCalendars(MappingProxyType(by_agency), every_other)


def _mapping(document: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise PolicyError(f"{key} must be a table")
    return value


def _jurisdiction(name: str, table: object) -> Jurisdiction:
    where = f"jurisdictions.{name}"
    if not _NAME.fullmatch(name):
        raise PolicyError(f"[jurisdictions]: {name!r} is not a name (letters, digits, - and _)")
    if not isinstance(table, dict):
        raise PolicyError(f"{where} must be a table")
    unknown = sorted(set(table) - _JURISDICTION_KEYS)
    if unknown:
        raise PolicyError(f"[{where}]: unknown key {unknown[0]!r}")
    for key in ("country", "time_zone"):
        if not isinstance(table.get(key), str):
            raise PolicyError(f"[{where}]: missing {key}")
    for key in ("subdivision", "close_of_business"):
        if key in table and not isinstance(table[key], str):
            raise PolicyError(f"{where}.{key} must be a string")
    return jurisdiction(
        table["country"],
        table.get("subdivision"),
        table["time_zone"],
        table.get("close_of_business"),
        where=where,
    )
