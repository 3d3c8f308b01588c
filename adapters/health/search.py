"""`GET /fhir/Task` search parameters, parsed and matched (pure).

Supported: `status` (a comma is OR, a repeated parameter AND), `_lastUpdated` with the
prefixes gt, ge, lt and le (repeat it for a range), `_count`. Other parameters are ignored,
as FHIR's lenient handling allows, and left out of the Bundle's self link, which lists the
parameters that were applied.
"""

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from adapters.health.outcome import WrongResource
from adapters.health.times import seconds_of
from adapters.health.vocabulary import TaskStatus

_PREFIXES: Mapping[str, Callable[[float, float], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


class BadSearch(WrongResource):
    """A search parameter Caselink supports, with a value it cannot use (400)."""

    reason = "fhir_bad_search"
    code = "invalid"


@dataclass(frozen=True)
class TaskQuery:
    statuses: frozenset[TaskStatus] | None
    updated: tuple[tuple[str, float, str], ...]  # prefix, seconds, as given
    count: int

    def matches(self, status: TaskStatus, last_updated: float) -> bool:
        """True when a Task with `status`, last updated at `last_updated`, is found."""
        if self.statuses is not None and status not in self.statuses:
            return False
        return all(_PREFIXES[p](last_updated, bound) for p, bound, _ in self.updated)

    def earliest(self) -> float | None:
        """The time every match was updated after (or at); None without a lower bound."""
        lower = [bound for p, bound, _ in self.updated if p in ("gt", "ge")]
        return max(lower) if lower else None

    def self_query(self) -> str:
        """The applied parameters, as a query string."""
        pairs: list[tuple[str, str]] = []
        if self.statuses is not None:
            pairs.append(("status", ",".join(sorted(s.value for s in self.statuses))))
        pairs += [("_lastUpdated", f"{p}{given}") for p, _, given in self.updated]
        pairs.append(("_count", str(self.count)))
        return urlencode(pairs)


def parse_query(
    params: Iterable[tuple[str, str]], *, default_count: int, max_count: int
) -> TaskQuery:
    """The query of `params` (in order, repeats kept); raises BadSearch (400)."""
    statuses: frozenset[TaskStatus] | None = None
    updated: list[tuple[str, float, str]] = []
    count = default_count
    for name, value in params:
        if name == "status":
            given = frozenset(_status(code) for code in value.split(","))
            statuses = given if statuses is None else statuses & given
        elif name == "_lastUpdated":
            prefix, moment = value[:2], value[2:]
            seconds = seconds_of(moment) if prefix in _PREFIXES else None
            if seconds is None:
                raise BadSearch(
                    "_lastUpdated takes gt, ge, lt or le and an instant with its time zone",
                    expression="_lastUpdated",
                )
            updated.append((prefix, seconds, moment))
        elif name == "_count":
            # ASCII digits, few of them: `isdigit` alone takes "²", which int() refuses.
            digits = value.isascii() and value.isdigit() and len(value) <= 6
            if not digits or not 1 <= int(value) <= max_count:
                raise BadSearch(f"_count is 1 to {max_count}", expression="_count")
            count = int(value)
    return TaskQuery(statuses, tuple(updated), count)


def _status(code: str) -> TaskStatus:
    try:
        return TaskStatus(code.strip())
    except ValueError:
        raise BadSearch("status takes R4 TaskStatus codes", expression="status") from None
