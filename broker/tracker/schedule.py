"""What every TrackerStore derives alike from a folded thread (pure: no I/O).

When a thread must be looked at next, the outbox rows of its due alerts, and the phase sets
behind the dashboard's lists, so the in-memory and SQL stores cannot drift apart.
"""

from collections.abc import Iterable, Sequence, Set

from broker.topology.names import alert_routing_key
from broker.tracker.escalation import (
    PlannedAlert,
    alert_key,
    due_alerts,
    open_deadlines,
    planned_key,
    to_alerts,
)
from broker.tracker.policy import SlaPolicy
from broker.tracker.records import RecordedAlert, ThreadRow
from broker.tracker.state import Phase, ThreadState
from schemas.alert import Alert
from schemas.kinds import MessageKind

P = Phase
CHASED_KINDS = frozenset({MessageKind.REFERRAL.value, MessageKind.TRANSFER.value})
"""Kinds the dashboard's lists and per-agency figures are about (consent has its own list)."""
AWAITING_PHASES = frozenset({P.SENT.value, P.DELIVERED.value})
"""Not yet accepted, declined or redirected: the `unanswered` list."""
REFUSED_PHASES = frozenset({P.DECLINED.value, P.REDIRECTED.value})
"""The `declined` list: a redirect leaves the case with the sender as a decline does."""
LIMBO_PHASES = AWAITING_PHASES | REFUSED_PHASES
"""A transfer in these phases has no new owner: `transfers_in_limbo`."""
OPEN_PHASES = frozenset({P.SENT.value, P.DELIVERED.value, P.ACCEPTED.value, P.PENDING.value})
"""A known original and no final answer yet (UNKNOWN threads are not counted as open)."""
NO_URGENCY = "none"
"""The urgency label of threads without one (transfers, consent withdrawals) in metrics."""


def current_deadline(state: ThreadState, policy: SlaPolicy) -> int | None:
    """The earliest deadline of `state` not met yet (Unix seconds); None when none is open."""
    return min((found.due for found in open_deadlines(state, policy)), default=None)


def leg_deadlines(state: ThreadState, policy: SlaPolicy) -> dict[str, int]:
    """The earliest unmet deadline per recipient; recipients that met theirs are left out."""
    found: dict[str, int] = {}
    for deadline in open_deadlines(state, policy):
        recipient = deadline.leg.recipient
        found[recipient] = min(deadline.due, found.get(recipient, deadline.due))
    return found


def next_check_at(
    state: ThreadState, policy: SlaPolicy, raised: Set[str], *, refused_by: int
) -> int | None:
    """The earliest time an alert whose planned key is not in `raised` becomes due.

    A refusal alert (declined transfer or emergency referral) is due at once: it is checked
    at `refused_by` (the ingest time) or the refusal's own issue time, whichever is earlier.
    None when no alert can become due any more.
    """
    candidates = {
        at for found in open_deadlines(state, policy) for at in (found.due, found.escalate_at)
    }
    if state.phase.value in REFUSED_PHASES:
        candidates.add(min(refused_by, state.closed_at or refused_by))
    for at in sorted(candidates):
        if due_alerts(state, policy, at, raised):
            return at
    return None


def thread_row(
    state: ThreadState, policy: SlaPolicy, raised: Set[str], updated_at: float
) -> ThreadRow:
    """The stored form of `state`, given the planned keys already recorded for its thread."""
    return ThreadRow(
        state=state,
        current_deadline=current_deadline(state, policy),
        next_check_at=next_check_at(state, policy, raised, refused_by=int(updated_at)),
        updated_at=updated_at,
    )


def planned_keys(keys: Iterable[str]) -> set[str]:
    """The planned keys recorded, from the outbox keys of one or more threads."""
    return {planned_key(key) for key in keys}


def outbox_alerts(
    planned: Sequence[PlannedAlert], coordinators: Sequence[str]
) -> list[tuple[RecordedAlert, Alert]]:
    """One outbox record per addressee of each planned alert, sorted by key.

    Sorted so that concurrent sweeps take the unique-key locks in one order (no deadlock).
    Raises NoCoordinators when an alert is for the coordinators and none is configured.
    """
    owed = [
        (
            RecordedAlert(
                key=alert_key(alert.key, body.agency),
                alert_json=body.model_dump_json(),
                routing_key=alert_routing_key(body.level.value, body.agency),
                raised_at=float(alert.raised_at),
            ),
            body,
        )
        for alert in planned
        for body in to_alerts(alert, coordinators)
    ]
    return sorted(owed, key=lambda pair: pair[0].key)
