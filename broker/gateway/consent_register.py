"""The consent register's rules: what recording a consent again means (pure).

A consent id is recorded once. Recording it again is:
- the same consent (same status, dates, scope and giver): nothing changes, so an adapter
  may retry;
- a withdrawal (status withdrawn) of a consent granted or refused: it is withdrawn, and
  every agency that received data under it is told (`Gateway.withdraw_consent`);
- a withdrawal of one already withdrawn: nothing changes, nobody is told again;
- anything else (another scope or dates, withdrawn back to granted): ConsentConflict.
A consent first recorded as withdrawn is kept as such; no data went under it.
"""

from enum import StrEnum

from broker.gateway.consent_rules import ConsentError
from broker.gateway.records import ConsentRecord
from schemas.consent import Consent
from schemas.kinds import ConsentStatus


class ConsentNotRecorded(ConsentError, KeyError):
    """No consent with this id in the register."""

    reason = "consent_not_recorded"

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else self.reason


class ConsentConflict(ConsentError):
    """The consent id is recorded already, with another content (or withdrawn for good)."""

    reason = "consent_conflict"


class Change(StrEnum):
    NEW = "new"
    SAME = "same"  # nothing to do
    WITHDRAWAL = "withdrawal"


def giver_of(consent: Consent) -> str:
    """The giver's category: their relation to the child, or `court_order`."""
    giver = consent.given_by
    if giver.relation is not None:
        return giver.relation.value
    return "court_order"


def record_of(consent: Consent, *, sealed: bytes, by: str, at: float) -> ConsentRecord:
    """The register entry of `consent`, its body already sealed (`sealed`), recorded by `by`."""
    scope = consent.scope
    return ConsentRecord(
        consent_id=consent.consent_id,
        status=consent.status.value,
        valid_from=consent.valid_from,
        valid_until=consent.valid_until,
        agencies=tuple(scope.agencies),
        agency_kinds=tuple(kind.value for kind in scope.agency_kinds),
        purposes=tuple(purpose.value for purpose in scope.purposes),
        data_categories=tuple(category.value for category in scope.data_categories),
        giver=giver_of(consent),
        recorded_at=at,
        recorded_by=by,
        sealed=sealed,
        withdrawn_at=None if consent.withdrawn_at is None else float(consent.withdrawn_at),
    )


def _clear(record: ConsentRecord) -> tuple[object, ...]:
    return (
        record.status,
        record.valid_from,
        record.valid_until,
        frozenset(record.agencies),
        frozenset(record.agency_kinds),
        frozenset(record.purposes),
        frozenset(record.data_categories),
        record.giver,
    )


def change(current: ConsentRecord | None, consent: Consent) -> Change:
    """What recording `consent` does to the register holding `current` (None: not there).

    Raises ConsentConflict as the module docstring says.
    """
    if current is None:
        return Change.NEW
    withdrawn = ConsentStatus.WITHDRAWN
    if consent.status is withdrawn:
        return Change.SAME if current.status == withdrawn else Change.WITHDRAWAL
    if current.status == withdrawn:
        raise ConsentConflict(f"consent {consent.consent_id} is withdrawn; record a new consent")
    new = record_of(consent, sealed=b"", by="", at=0.0)
    if _clear(new) != _clear(current):
        raise ConsentConflict(
            f"consent {consent.consent_id} is recorded with another status, scope or dates"
        )
    return Change.SAME


def withdrawn(consent: Consent, at: int) -> Consent:
    """`consent` withdrawn at `at` (Unix seconds): the body the withdrawal notices carry."""
    return consent.model_copy(update={"status": ConsentStatus.WITHDRAWN, "withdrawn_at": at})
