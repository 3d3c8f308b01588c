"""Which threads the dashboard's lists and figures count, and in which order (pure).

Every store reads a list with `threads(listing, ...)`: the store chooses how to find the
rows (the SQL store with its indexes), this module says which rows and in which order.
"""

from dataclasses import dataclass
from enum import StrEnum

from broker import lifecycle
from broker.tracker.state import AWAITING_RESPONSE, REFUSED, Phase, ThreadState, stage
from schemas.kinds import MessageKind

P = Phase
CHASED_KINDS = frozenset({MessageKind.REFERRAL.value, MessageKind.TRANSFER.value})
"""Kinds the dashboard's lists and per-agency figures are about (consent has its own list)."""
AWAITING_PHASES = frozenset(phase.value for phase in AWAITING_RESPONSE)
"""Not yet accepted, declined or redirected: the `unanswered` list."""
REFUSED_PHASES = frozenset(phase.value for phase in REFUSED)
"""The `declined` list: a redirect leaves the case with the sender as a decline does."""
LIMBO_PHASES = frozenset(stage.value for stage in lifecycle.LIMBO)
"""A transfer in these phases has no new holder: `transfers_in_limbo`."""
TAKEN_PHASES = frozenset(stage.value for stage in lifecycle.TAKEN)
"""A transfer in these phases is its recipient's: `transfers_taken`."""
OPEN_PHASES = frozenset(
    {P.SENT.value, P.DELIVERED.value, P.ACCEPTED.value, P.PLANNED.value, P.PENDING.value}
)
"""A known original and no final answer yet (UNKNOWN threads are not counted as open)."""
NO_URGENCY = "none"
"""The urgency label of threads without one (transfers, consent withdrawals) in metrics."""


class ListOrder(StrEnum):
    """The order of a list's rows; every order breaks ties on thread_id."""

    EARLIEST_DEADLINE = "earliest_deadline"
    """current_deadline ascending, threads without one last (the most overdue first)."""
    NEWEST_REFUSAL = "newest_refusal"
    """closed_at descending, ties on thread_id descending."""
    OLDEST = "oldest"
    """opened_at ascending."""
    NEWEST_ANSWER = "newest_answer"
    """responded_at descending, ties on thread_id descending."""
    NEWEST = "newest"
    """opened_at descending, ties on thread_id descending."""
    OLDEST_ANSWER = "oldest_answer"
    """responded_at ascending, threads without one last (the longest waiting first)."""


@dataclass(frozen=True, slots=True)
class ThreadListing:
    """One of the dashboard's lists: threads of `kinds` (None: any) in `phases`, in `order`;
    with `without_consent`, only those whose original declared a lawful basis instead."""

    name: str
    kinds: frozenset[str] | None
    phases: frozenset[str]
    order: ListOrder
    without_consent: bool = False

    def includes(self, state: ThreadState) -> bool:
        """Whether a thread in `state` belongs to this list (before the dashboard's filter)."""
        kind = None if state.kind is None else state.kind.value
        kind_fits = self.kinds is None or (kind is not None and kind in self.kinds)
        flag_fits = not self.without_consent or state.basis is not None
        return kind_fits and flag_fits and state.phase.value in self.phases


UNANSWERED = ThreadListing("unanswered", CHASED_KINDS, AWAITING_PHASES, ListOrder.EARLIEST_DEADLINE)
"""Referrals and transfers awaiting receipt or an answer, the most overdue first."""
DECLINED = ThreadListing("declined", CHASED_KINDS, REFUSED_PHASES, ListOrder.NEWEST_REFUSAL)
"""Declined and redirected referrals and transfers, the newest refusal first."""
TRANSFERS_IN_LIMBO = ThreadListing(
    "transfers_in_limbo", frozenset({MessageKind.TRANSFER.value}), LIMBO_PHASES, ListOrder.OLDEST
)
"""Transfers not accepted: awaiting an answer, declined or redirected; the oldest first."""
TRANSFERS_TAKEN = ThreadListing(
    "transfers_taken",
    frozenset({MessageKind.TRANSFER.value}),
    TAKEN_PHASES,
    ListOrder.NEWEST_ANSWER,
)
"""Transfers accepted (planned or completed too): the case is the recipient's; the newest
answer first."""
ACCEPTED_NOT_DONE = ThreadListing(
    "accepted_not_done", CHASED_KINDS, frozenset({P.ACCEPTED.value}), ListOrder.OLDEST_ANSWER
)
"""Referrals and transfers accepted with neither an outcome nor a plan recorded (nor
withdrawn): what the outcome deadline still chases; the longest since acceptance first.

A planned thread is left out: its plan met the deadline (no reminder, no escalation), so
listing it among the threads still owing one would hide those that do behind those that
do not. It stays in the list of all threads, shown as planned (a phase of its own)."""
CONSENT_WITHDRAWALS_PENDING = ThreadListing(
    "consent_withdrawals_pending", None, frozenset({P.PENDING.value}), ListOrder.OLDEST
)
"""Consent withdrawals some recipient has not acknowledged yet, the oldest first."""


def limbo_seconds(state: ThreadState, now: int) -> int | None:
    """How long a transfer in limbo has had no new holder: seconds since it was sent (its
    issued_at), never negative; None for a thread that is not a transfer in limbo."""
    shared = stage(state.phase)
    if shared is None or state.opened_at is None or not lifecycle.in_limbo(state.kind, shared):
        return None
    return max(now - state.opened_at, 0)


def accepted_seconds(state: ThreadState, now: int) -> int | None:
    """How long an accepted thread has awaited its outcome or plan: seconds since the
    acceptance (responded_at), never negative; None for a thread that is not accepted and
    open (a planned one included: its plan is recorded)."""
    if state.phase is not P.ACCEPTED or state.responded_at is None:
        return None
    return max(now - state.responded_at, 0)


SHARED_WITHOUT_CONSENT = ThreadListing(
    "shared_without_consent",
    CHASED_KINDS,
    frozenset(phase.value for phase in Phase),
    ListOrder.NEWEST,
    without_consent=True,
)
"""Referrals and transfers sent under a lawful basis, not a consent: the newest first."""
