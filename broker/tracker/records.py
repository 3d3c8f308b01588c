"""What the tracker keeps and shows: thread rows, timeline entries, figures. Plain values.

A ThreadRow is the folded ThreadState plus what the sweep and the dashboard need indexed:
`current_deadline` (earliest unmet deadline: the dashboard's lateness order) and
`next_check_at` (earliest moment an alert may become due: the sweep's index).
"""

from collections.abc import Mapping
from dataclasses import dataclass

from broker.tracker.parties import ThreadClaim
from broker.tracker.state import ThreadState
from schemas.alert import Alert


@dataclass(frozen=True)
class ThreadRow:
    """One thread as stored; ids, categories and times only."""

    state: ThreadState
    current_deadline: int | None
    next_check_at: int | None
    updated_at: float


@dataclass(frozen=True)
class TimelineEntry:
    """One event of a thread as the tracker saw it (its clear header's facts)."""

    message_id: str
    kind: str
    sender: str
    recipient: str
    status: str | None
    issued_at: int
    received_at: float


@dataclass(frozen=True)
class RefusalEntry:
    """A message the tracker refused for its thread, as its clear header describes it, and
    why (a reason slug: `not_a_party`). Never folded, never on the timeline."""

    message_id: str
    thread_id: str
    kind: str
    sender: str
    recipient: str
    status: str | None
    issued_at: int
    received_at: float
    reason: str


@dataclass(frozen=True)
class AgencyFigures:
    """Per-agency figures for the dashboard (as a recipient of referrals and transfers)."""

    agency: str
    open: int
    overdue: int
    median_receipt_s: float | None  # issued -> received acknowledgement
    median_answer_s: float | None  # issued -> accepted / declined / redirected


@dataclass(frozen=True)
class AgencyWeek:
    """One recipient agency's figures for the referrals and transfers issued in one week
    (`broker.tracker.trends`): how many, how many missed a deadline, median times."""

    agency: str
    week: int  # Unix seconds of the Monday 00:00 UTC that starts it
    received: int
    overdue: int  # a receipt or response deadline passed unmet (a reminder was raised)
    median_receipt_s: float | None  # issued -> received acknowledgement
    median_answer_s: float | None  # issued -> accepted / declined / redirected


@dataclass(frozen=True)
class ThreadFilter:
    """Dashboard filters, each None for "any"; all that are set must hold.

    `involving` restricts to threads where that agency is a party, sender or recipient (an
    agency supervisor's view, set by the server); `agency` is the same test, chosen by a
    coordinator. `kind`, `urgency` and `phase` are the enum values as strings.
    """

    involving: str | None = None
    agency: str | None = None
    kind: str | None = None
    urgency: str | None = None
    phase: str | None = None


LEASE_HOLDER_CHARS = 128
"""The longest name of an alert relay holding a lease on alerts (`claimed_by`)."""


@dataclass(frozen=True)
class RecordedAlert:
    """An alert the tracker owes, as kept in its outbox until published."""

    key: str
    alert_json: str
    routing_key: str
    raised_at: float
    published_at: float | None = None


OwedAlert = tuple[RecordedAlert, Alert]
"""One addressee's alert to record: its outbox record and the body the record holds."""


@dataclass(frozen=True)
class FoldedThread:
    """A refolded thread to save: its row, each recipient's own earliest unmet deadline
    (recipients that met theirs are left out; the dashboard's overdue figures count these)
    and its claim (parties and opener), kept with the row: one write per thread."""

    row: ThreadRow
    recipient_deadlines: Mapping[str, int]
    claim: ThreadClaim


@dataclass(frozen=True)
class DueThread:
    """A thread the sweep must look at, with the store's revision of it when it was read."""

    row: ThreadRow
    revision: int


@dataclass(frozen=True)
class NextCheck:
    """Move a swept thread's next check; ignored if the thread was saved again since
    `revision` (that refold set its own next check)."""

    thread_id: str
    revision: int
    next_check_at: int | None
