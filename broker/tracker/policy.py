"""SLA policy: delivery and response deadlines per kind and urgency, read from TOML (pure).

Durations are a whole number and a unit: "90s", "15m", "4h", "5d". Deadlines run from the
issued-at time of the thread's original message; a respond-by in the header wins when it is
earlier than the policy's response deadline. deploy/tracker/sla.toml holds DEFAULT_POLICY.
"""

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from types import MappingProxyType
from typing import NamedTuple

from broker.tracker.errors import PolicyError
from broker.tracker.state import ThreadState
from schemas.kinds import MessageKind, Urgency

_UNITS: Mapping[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhd])")
_MINUTE, _HOUR, _DAY = _UNITS["m"], _UNITS["h"], _UNITS["d"]


@dataclass(frozen=True, slots=True)
class Sla:
    """Seconds after issue by which delivery (`received`) and a response are due."""

    delivery: int
    response: int | None  # None: no answer beyond the acknowledgement is expected


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Deadlines per kind; referrals per urgency (a referral without urgency counts as normal)."""

    referral: Mapping[Urgency, Sla]
    transfer: Sla
    consent_withdrawal: Sla

    def sla_for(self, kind: MessageKind | None, urgency: Urgency | None) -> Sla | None:
        """The deadlines of a thread of `kind`; None for kinds the tracker does not chase."""
        if kind is MessageKind.REFERRAL:
            return self.referral[urgency or Urgency.NORMAL]
        if kind is MessageKind.TRANSFER:
            return self.transfer
        if kind is MessageKind.CONSENT:
            return self.consent_withdrawal
        return None


class Deadlines(NamedTuple):
    """Unix seconds by which delivery and a response are due; None where none applies."""

    delivery_due: int | None
    response_due: int | None


DEFAULT_POLICY = SlaPolicy(
    referral=MappingProxyType(
        {
            Urgency.EMERGENCY: Sla(15 * _MINUTE, 1 * _HOUR),
            Urgency.HIGH: Sla(1 * _HOUR, 3 * _HOUR),
            Urgency.NORMAL: Sla(4 * _HOUR, 24 * _HOUR),
            Urgency.LOW: Sla(24 * _HOUR, 72 * _HOUR),
        }
    ),
    transfer=Sla(4 * _HOUR, 5 * _DAY),
    consent_withdrawal=Sla(24 * _HOUR, None),
)
"""The practice defaults; deploy/tracker/sla.toml says the same (a test checks)."""


def deadlines(state: ThreadState, policy: SlaPolicy) -> Deadlines:
    """When delivery and a response are due for `state`, met or not; None while unknown."""
    sla = policy.sla_for(state.kind, state.urgency)
    if sla is None or state.opened_at is None:
        return Deadlines(None, None)
    opened = state.opened_at
    response = None if sla.response is None else opened + sla.response
    # A respond-by at or before the issue time is a sender's mistake: the policy stands then.
    if response is not None and state.respond_by is not None and opened < state.respond_by:
        response = min(response, state.respond_by)
    return Deadlines(opened + sla.delivery, response)


def parse_duration(text: object, where: str) -> int:
    """Seconds in a duration like "15m"; raises PolicyError naming `where` otherwise."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise PolicyError(f'{where}: expected a duration like "15m", "4h" or "5d"')
    return int(match[1]) * _UNITS[match[2]]


def parse_policy(text: str) -> SlaPolicy:
    """The policy in TOML `text`; raises PolicyError (one line) on any mistake.

    Every table and key is required and unknown keys are refused, so a typo cannot quietly
    fall back to a default.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"not valid TOML: {error}") from error
    _only(document, {"referral", "transfer", "consent_withdrawal"}, "the policy")
    referral = _table(document, "referral", "referral")
    _only(referral, {urgency.value for urgency in Urgency}, "[referral]")
    by_urgency = {u: _sla(referral, u.value, f"referral.{u.value}") for u in Urgency}
    _check_urgency_order(by_urgency)
    consent = _table(document, "consent_withdrawal", "consent_withdrawal")
    _only(consent, {"acknowledgement"}, "[consent_withdrawal]")
    acknowledgement = _duration(consent, "acknowledgement", "consent_withdrawal")
    return SlaPolicy(
        referral=MappingProxyType(by_urgency),
        transfer=_sla(document, "transfer", "transfer"),
        consent_withdrawal=Sla(acknowledgement, None),
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


def _duration(table: Mapping[str, object], key: str, where: str) -> int:
    if key not in table:
        raise PolicyError(f"[{where}]: missing {key}")
    return parse_duration(table[key], f"{where}.{key}")


def _sla(parent: Mapping[str, object], key: str, where: str) -> Sla:
    table = _table(parent, key, where)
    _only(table, {"delivery", "response"}, f"[{where}]")
    delivery = _duration(table, "delivery", where)
    response = _duration(table, "response", where)
    if delivery > response:
        raise PolicyError(f"[{where}]: delivery must not be later than response")
    return Sla(delivery, response)


def _check_urgency_order(by_urgency: Mapping[Urgency, Sla]) -> None:
    # A more urgent referral must never wait longer: catches "1d" typed for "1h".
    ranked = [Urgency.EMERGENCY, Urgency.HIGH, Urgency.NORMAL, Urgency.LOW]
    for more, less in pairwise(ranked):
        a, b = by_urgency[more], by_urgency[less]
        if a.delivery > b.delivery or (a.response or 0) > (b.response or 0):
            raise PolicyError(
                f"[referral.{more.value}] must not be later than [referral.{less.value}]"
            )
