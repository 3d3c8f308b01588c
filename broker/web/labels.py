"""What the dashboard calls its categories and columns: English messages, marked with `N_`
and translated by the templates (`_(label(item.phase))`). The categories' words are the
vocabulary both apps share (`broker.look.vocabulary`): a coordinator reads the word an
agency reads.

Ids and agency names are never translated; a category value this module does not know
(a store holding something newer than the code) is shown as it is.
"""

from collections.abc import Mapping
from enum import StrEnum

from broker.look import N_
from broker.look.vocabulary import WORDS
from broker.tracker.state import Phase
from broker.web.queries import Listing, ThreadKind
from schemas.kinds import Urgency

CHOICES: Mapping[str, list[str]] = {
    "kind": [str(kind) for kind in ThreadKind],
    "urgency": [str(urgency) for urgency in Urgency],
    "phase": [str(phase) for phase in Phase],
}
"""The filter form's choices, in this order."""


def label(value: object) -> str | None:
    """The English word for a category's value (kind, urgency, phase, FHIR status, answer,
    lawful basis), from the vocabulary both apps share (`broker.look.vocabulary`); None
    when it has none (the page then shows the value itself)."""
    return None if value is None else WORDS.get(str(value))


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
