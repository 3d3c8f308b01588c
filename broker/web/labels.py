"""What the dashboard calls its categories and columns: English messages, marked with `N_`
and translated by the templates (`_(label("phase", item.phase))`).

Ids and agency names are never translated; a category value this module does not know
(a store holding something newer than the code) is shown as it is.
"""

from collections.abc import Mapping
from enum import StrEnum

from broker.look import N_
from broker.tracker.state import Phase
from broker.web.queries import Listing, ThreadKind
from schemas.kinds import Urgency

KINDS = {
    "referral": N_("referral"),
    "transfer": N_("transfer"),
    "consent": N_("consent"),
    "acknowledgement": N_("answer"),
    "alert": N_("alert"),
}
URGENCIES = {
    "emergency": N_("emergency"),
    "high": N_("high"),
    "normal": N_("normal"),
    "low": N_("low"),
}
PHASES = {
    "unknown": N_("unknown"),
    "sent": N_("sent"),
    "delivered": N_("delivered"),
    "accepted": N_("accepted"),
    "planned": N_("plan recorded"),
    "declined": N_("declined"),
    "redirected": N_("redirected"),
    "completed": N_("completed"),
    "withdrawn": N_("withdrawn"),
    "pending": N_("pending"),
    "acknowledged": N_("acknowledged"),
}
FHIR_STATUSES = {
    "requested": N_("requested"),
    "received": N_("received"),
    "accepted": N_("accepted"),
    "in-progress": N_("in progress"),
    "rejected": N_("rejected"),
    "completed": N_("completed"),
    "cancelled": N_("cancelled"),
}
STATUSES = {  # an answer's status on the timeline: AckStatus and ConsentStatus
    "received": N_("received"),
    "accepted": N_("accepted"),
    "declined": N_("declined"),
    "completed": N_("completed"),
    "withdrawn": N_("withdrawn"),
    "redirected": N_("redirected"),
    "planned": N_("plan recorded"),
    "granted": N_("granted"),
    "refused": N_("refused"),
}
BASES = {
    "consent": N_("consent of the person"),
    "vital_interests": N_("vital interests"),
    "legal_obligation": N_("legal obligation"),
    "public_task": N_("public task"),
    "child_protection_significant_harm": N_("risk of significant harm to a child"),
}
CATEGORIES: Mapping[str, Mapping[str, str]] = {
    "kind": KINDS,
    "urgency": URGENCIES,
    "phase": PHASES,
    "fhir": FHIR_STATUSES,
    "status": STATUSES,
    "basis": BASES,
}
CHOICES: Mapping[str, list[str]] = {
    "kind": [str(kind) for kind in ThreadKind],
    "urgency": [str(urgency) for urgency in Urgency],
    "phase": [str(phase) for phase in Phase],
}
"""The filter form's choices, in this order."""


def label(category: str, value: object) -> str | None:
    """The English message naming `value` of `category`; None when there is no such value
    (the page then shows the value itself)."""
    return None if value is None else CATEGORIES[category].get(str(value))


class Column(StrEnum):
    """A column of a list of threads (the template draws each one's cell)."""

    THREAD = "thread"
    KIND = "kind"
    URGENCY = "urgency"
    STATE = "state"
    FROM = "from"
    TO = "to"
    HOLDER = "holder"
    OPENED = "opened"
    DEADLINE = "deadline"
    LIMBO = "limbo"
    ACCEPTED_FOR = "accepted-for"
    ANSWERED = "answered"
    BASIS = "basis"
    LATENESS = "lateness"


HEADINGS = {
    Column.THREAD: N_("Thread"),
    Column.KIND: N_("Kind"),
    Column.URGENCY: N_("Urgency"),
    Column.STATE: N_("State"),
    Column.FROM: N_("From"),
    Column.TO: N_("To"),
    Column.HOLDER: N_("Holder now"),
    Column.OPENED: N_("Opened"),
    Column.DEADLINE: N_("Deadline"),
    Column.LIMBO: N_("In limbo for"),
    Column.ACCEPTED_FOR: N_("Accepted for"),
    Column.ANSWERED: N_("Answered"),
    Column.BASIS: N_("Lawful basis"),
    Column.LATENESS: N_("Lateness"),
}
# Transfer lists say who holds each case now; those in limbo, for how long.
_TRANSFER_LISTS = frozenset({Listing.TRANSFERS, Listing.TRANSFERS_TAKEN})
_ANSWERED_LISTS = frozenset({Listing.DECLINED, Listing.TRANSFERS_TAKEN})


def columns(listing: Listing) -> list[Column]:
    """The columns of `listing`, in order; the last says how it ended or how late it is."""
    shown = [Column.THREAD, Column.KIND, Column.URGENCY, Column.STATE, Column.FROM, Column.TO]
    if listing in _TRANSFER_LISTS:
        shown.append(Column.HOLDER)
    shown += [Column.OPENED, Column.DEADLINE]
    if listing is Listing.TRANSFERS:
        shown.append(Column.LIMBO)
    if listing is Listing.ACCEPTED:
        shown.append(Column.ACCEPTED_FOR)
    if listing in _ANSWERED_LISTS:
        shown.append(Column.ANSWERED)
    elif listing is Listing.SHARED_WITHOUT_CONSENT:
        shown.append(Column.BASIS)
    else:
        shown.append(Column.LATENESS)
    return shown
