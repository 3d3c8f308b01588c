"""What the tracker derives from a folded thread and keeps (pure: no I/O).

The thread row a refold saves, what a sweep records and where it moves each thread's next
check, and the outbox rows of due alerts. The ledger applies these; the stores only keep
what they are given.
"""

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass

from broker.topology.names import alert_routing_key
from broker.tracker.escalation import (
    PlannedAlert,
    alert_key,
    due_alerts,
    open_deadlines,
    planned_key,
    to_alerts,
)
from broker.tracker.events import TrackedEvent
from broker.tracker.parties import ThreadClaim
from broker.tracker.policy import SlaPolicy
from broker.tracker.records import (
    DueThread,
    FoldedThread,
    NextCheck,
    OwedAlert,
    RecordedAlert,
    ThreadRow,
)
from broker.tracker.state import REFUSED, ThreadState, thread_state


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
    if state.phase in REFUSED:
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


def folded_thread(
    thread_id: str,
    events: Iterable[TrackedEvent],
    policy: SlaPolicy,
    recorded: Iterable[str],
    updated_at: float,
    claim: ThreadClaim,
) -> FoldedThread:
    """The thread to save after folding all its `events` from its `claim`'s opener (see
    `thread_state`); `recorded`: its outbox keys."""
    state = thread_state(thread_id, events, claim.opener)
    row = thread_row(state, policy, planned_keys(recorded), updated_at)
    return FoldedThread(row, leg_deadlines(state, policy), claim)


@dataclass(frozen=True)
class SweepPlan:
    """What one sweep of some due threads records (`owed`, sorted by key) and the next
    checks it moves (`moves`, sorted by thread id: writers take locks in one order)."""

    owed: list[OwedAlert]
    moves: list[NextCheck]


def plan_sweep(
    due: Sequence[DueThread],
    recorded: Mapping[str, Iterable[str]],
    policy: SlaPolicy,
    now: int,
    coordinators: Sequence[str],
) -> SweepPlan:
    """The alerts due at `now` on the `due` threads and where their next checks move.

    `recorded` holds the outbox keys already recorded, per thread. Every rung due by `now` is
    planned, so each moved next check lies past `now` (or is None). Raises NoCoordinators
    when an alert is for the coordinators and `coordinators` is empty.
    """
    planned: list[PlannedAlert] = []
    moves: list[NextCheck] = []
    for thread in due:
        row, thread_id = thread.row, thread.row.state.thread_id
        raised = planned_keys(recorded.get(thread_id, ()))
        alerts = due_alerts(row.state, policy, now, raised)
        planned += alerts
        after = raised | {alert.key for alert in alerts}
        # updated_at is the last refold's ingest time: a refusal is checked from then.
        moved = next_check_at(row.state, policy, after, refused_by=int(row.updated_at))
        if moved != row.next_check_at:
            moves.append(NextCheck(thread_id, thread.revision, moved))
    moves.sort(key=lambda move: move.thread_id)
    return SweepPlan(outbox_alerts(planned, coordinators), moves)


def planned_keys(keys: Iterable[str]) -> set[str]:
    """The planned keys recorded, from the outbox keys of one or more threads."""
    return {planned_key(key) for key in keys}


def outbox_alerts(planned: Sequence[PlannedAlert], coordinators: Sequence[str]) -> list[OwedAlert]:
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
