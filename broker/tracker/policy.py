"""SLA policy: delivery, response and outcome deadlines per kind and urgency, from TOML (pure).

Durations are a whole number and a unit: "90s", "15m", "4h", "5d" on the clock, or "3wd"
working days (`broker.tracker.working_days`), counted in the calendar of the agency that
must act, the recipient (`broker.tracker.calendars`). Delivery and response run from the
issued-at time of the thread's original message; a respond-by in the header wins when it is
earlier than the policy's response deadline. Outcome runs from the acceptance: an accepted
referral or transfer is completed, or its plan recorded (`planned`), by then: either meets
it (the law's "completed (or its plan recorded)"). `outcome` may be left out of a table (files
written before it stay valid): DEFAULT_POLICY's value for that table applies.
deploy/tracker/sla.toml holds DEFAULT_POLICY.
"""

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from types import MappingProxyType
from typing import NamedTuple

from broker.tracker.calendars import NO_CALENDARS, AgencyCalendars, parse_calendars
from broker.tracker.errors import PolicyError
from broker.tracker.state import Phase, ThreadState
from broker.tracker.working_days import WorkingDays, working_deadline
from schemas.kinds import MessageKind, Urgency

_UNITS: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([1-9][0-9]{0,5})(wd|[smhd])")
_MAX_WORKING_DAYS = 366
_MINUTE, _HOUR, _DAY = _UNITS["m"], _UNITS["h"], _UNITS["d"]

Duration = int | WorkingDays
"""Seconds on the clock, or working days in the recipient's calendar."""


@dataclass(frozen=True, slots=True)
class Sla:
    """How long after issue delivery (`received`) and a response are due, and after
    acceptance, the outcome (completed, or the plan recorded)."""

    delivery: Duration
    response: Duration | None  # None: no answer beyond the acknowledgement is expected
    outcome: Duration | None = None  # None: nothing is chased after acceptance


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Deadlines per kind; referrals per urgency (a referral without urgency counts as
    normal); and the calendars working days are counted in."""

    referral: Mapping[Urgency, Sla]
    transfer: Sla
    consent_withdrawal: Sla
    calendars: AgencyCalendars = field(default=NO_CALENDARS)

    def sla_for(self, kind: MessageKind | None, urgency: Urgency | None) -> Sla | None:
        """The deadlines of a thread of `kind`; None for kinds the tracker does not chase."""
        if kind is MessageKind.REFERRAL:
            return self.referral[urgency or Urgency.NORMAL]
        if kind is MessageKind.TRANSFER:
            return self.transfer
        if kind is MessageKind.CONSENT:
            return self.consent_withdrawal
        return None

    @property
    def uses_working_days(self) -> bool:
        """Whether any duration is in working days (every agency then needs a calendar)."""
        slas = [*self.referral.values(), self.transfer, self.consent_withdrawal]
        durations = [d for s in slas for d in (s.delivery, s.response, s.outcome)]
        return any(isinstance(d, WorkingDays) for d in durations)

    def ends(self, start: int, duration: Duration, agency: str) -> int | None:
        """Unix seconds at which `duration` from `start` ends for `agency`; None for working
        days when `agency` has no jurisdiction (never guessed)."""
        if not isinstance(duration, WorkingDays):
            return start + duration
        place = self.calendars.of(agency)
        return None if place is None else working_deadline(start, duration, place)


class Deadlines(NamedTuple):
    """Unix seconds by which delivery, a response and the outcome are due; None where none
    applies (the outcome: until the thread is accepted)."""

    delivery_due: int | None
    response_due: int | None
    outcome_due: int | None = None


DEFAULT_POLICY = SlaPolicy(
    referral=MappingProxyType(
        {
            Urgency.EMERGENCY: Sla(15 * _MINUTE, 1 * _HOUR, 1 * _DAY),
            Urgency.HIGH: Sla(1 * _HOUR, 3 * _HOUR, 3 * _DAY),
            Urgency.NORMAL: Sla(4 * _HOUR, 24 * _HOUR, 7 * _DAY),
            Urgency.LOW: Sla(24 * _HOUR, 72 * _HOUR, 14 * _DAY),
        }
    ),
    transfer=Sla(4 * _HOUR, 5 * _DAY, 30 * _DAY),
    consent_withdrawal=Sla(24 * _HOUR, None),
)
"""The practice defaults; deploy/tracker/sla.toml says the same (a test checks)."""

# The outcome deadline exists from the acceptance on; planned and completed have met it.
_OUTCOME_PHASES = frozenset({Phase.ACCEPTED, Phase.PLANNED, Phase.COMPLETED})


def deadlines(state: ThreadState, policy: SlaPolicy, recipient: str | None = None) -> Deadlines:
    """When delivery, a response and the outcome are due for `recipient` (default: the first
    leg's) in `state`, met or not; None while unknown."""
    return deadline_ladder(state, policy, recipient)[0]


def escalations(state: ThreadState, policy: SlaPolicy, recipient: str | None = None) -> Deadlines:
    """When missing each of `deadlines` escalates: at twice its duration from its start (for
    working days, 2N working days); a respond-by that won, at twice its distance from issue."""
    return deadline_ladder(state, policy, recipient)[1]


def deadline_ladder(
    state: ThreadState, policy: SlaPolicy, recipient: str | None = None
) -> tuple[Deadlines, Deadlines]:
    """`deadlines` and `escalations` in one pass (a working-day count is walked once)."""
    sla = policy.sla_for(state.kind, state.urgency)
    if recipient is None and state.legs:
        recipient = state.legs[0].recipient
    opened = state.opened_at
    if sla is None or opened is None or recipient is None:
        return Deadlines(None, None), Deadlines(None, None)
    agency = recipient

    def ends(start: int | None, duration: Duration | None, times: int) -> int | None:
        if start is None or duration is None:
            return None
        return policy.ends(start, _times(duration, times), agency)

    response, response_escalates = ends(opened, sla.response, 1), ends(opened, sla.response, 2)
    by = state.respond_by
    # A respond-by at or before the issue time is a sender's mistake: the policy stands then.
    # It also stands for a recipient with no calendar for its working days (the sender's
    # own time is no guess).
    if by is not None and opened < by and sla.response is not None and by < (response or by + 1):
        response, response_escalates = by, 2 * by - opened
    accepted = state.responded_at if state.phase in _OUTCOME_PHASES else None
    due = Deadlines(ends(opened, sla.delivery, 1), response, ends(accepted, sla.outcome, 1))
    twice = Deadlines(
        ends(opened, sla.delivery, 2), response_escalates, ends(accepted, sla.outcome, 2)
    )
    return due, twice


def _times(duration: Duration, factor: int) -> Duration:
    if isinstance(duration, WorkingDays):
        return WorkingDays(duration.days * factor)
    return duration * factor


def parse_duration(text: object, where: str) -> Duration:
    """Seconds in a duration like "15m", or WorkingDays for one like "3wd" (at most a year's
    366); raises PolicyError naming `where` otherwise."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise PolicyError(f'{where}: expected a duration like "15m", "4h", "5d" or "3wd"')
    if match[2] == "wd":
        if int(match[1]) > _MAX_WORKING_DAYS:
            raise PolicyError(f"{where}: at most {_MAX_WORKING_DAYS} working days")
        return WorkingDays(int(match[1]))
    return int(match[1]) * _UNITS[match[2]]


def parse_policy(text: str) -> SlaPolicy:
    """The policy in TOML `text`; raises PolicyError (one line) on any mistake.

    Every table and key is required, except `outcome` (DEFAULT_POLICY's applies) and the
    calendars (`broker.tracker.calendars`); unknown keys are refused, so a typo cannot
    quietly fall back to a default.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not valid TOML: {error}") from error
    _only(
        document,
        {"referral", "transfer", "consent_withdrawal", "jurisdictions", "agencies"},
        "the policy",
    )
    referral = _table(document, "referral", "referral")
    _only(referral, {urgency.value for urgency in Urgency}, "[referral]")
    by_urgency = {
        u: _sla(referral, u.value, f"referral.{u.value}", DEFAULT_POLICY.referral[u])
        for u in Urgency
    }
    _check_urgency_order(by_urgency)
    consent = _table(document, "consent_withdrawal", "consent_withdrawal")
    _only(consent, {"acknowledgement"}, "[consent_withdrawal]")
    acknowledgement = _duration(consent, "acknowledgement", "consent_withdrawal")
    return SlaPolicy(
        referral=MappingProxyType(by_urgency),
        transfer=_sla(document, "transfer", "transfer", DEFAULT_POLICY.transfer),
        consent_withdrawal=Sla(acknowledgement, None),
        calendars=parse_calendars(document),
    )


def _table(parent: Mapping[str, object], key: str, where: str) -> Mapping[str, object]:
    value = parent.get(key)
    if value is None:
        raise PolicyError(f"missing [{where}]")
    if not isinstance(value, dict):
        raise PolicyError(f"{where} must be a table")
    return value


def _only(table: Mapping[str, object], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        # repr keeps the message on one line whatever a quoted key holds.
        raise PolicyError(f"{where}: unknown key {unknown[0]!r}")


def _duration(table: Mapping[str, object], key: str, where: str) -> Duration:
    if key not in table:
        raise PolicyError(f"[{where}]: missing {key}")
    return parse_duration(table[key], f"{where}.{key}")


def _sla(parent: Mapping[str, object], key: str, where: str, default: Sla) -> Sla:
    table = _table(parent, key, where)
    _only(table, {"delivery", "response", "outcome"}, f"[{where}]")
    delivery = _duration(table, "delivery", where)
    response = _duration(table, "response", where)
    outcome = _duration(table, "outcome", where) if "outcome" in table else default.outcome
    if _later(delivery, response):
        raise PolicyError(f"[{where}]: delivery must not be later than response")
    return Sla(delivery, response, outcome)


def _later(a: Duration | None, b: Duration | None) -> bool:
    # Clock and working days compare only with their own kind: "1wd" may be 17 minutes or
    # four days depending on when it starts.
    if isinstance(a, WorkingDays) and isinstance(b, WorkingDays):
        return a.days > b.days
    if isinstance(a, int) and isinstance(b, int):
        return a > b
    return False


def _check_urgency_order(by_urgency: Mapping[Urgency, Sla]) -> None:
    # A more urgent referral must never wait longer: catches "1d" typed for "1h".
    ranked = [Urgency.EMERGENCY, Urgency.HIGH, Urgency.NORMAL, Urgency.LOW]
    for more, less in pairwise(ranked):
        a, b = by_urgency[more], by_urgency[less]
        pairs = ((a.delivery, b.delivery), (a.response, b.response), (a.outcome, b.outcome))
        if any(_later(x, y) for x, y in pairs):
            raise PolicyError(
                f"[referral.{more.value}] must not be later than [referral.{less.value}]"
            )


def require_calendars(policy: SlaPolicy, agencies: Iterable[str]) -> None:
    """Refuse a policy with working days while one of `agencies` (those that may be asked
    to act) has no jurisdiction: raises PolicyError naming the first, in one line."""
    uncovered = policy.calendars.uncovered(agencies) if policy.uses_working_days else []
    if uncovered:
        more = f" (and {len(uncovered) - 1} more)" if len(uncovered) > 1 else ""
        raise PolicyError(
            f"agency {uncovered[0]!r}{more} has no jurisdiction for working-day deadlines:"
            " map it in [agencies] of the SLA policy"
        )
