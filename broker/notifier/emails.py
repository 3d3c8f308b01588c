"""The notifier's emails, written from templates in each recipient's language (pure).

Plain-text Jinja2 templates (`templates/*.txt`, not HTML-escaped: they are sent as
text/plain) through the shared look (`broker.look`), so every word comes from the gettext
catalogues and every time is written in the reader's form and time zone. Recipients of one
alert or arrival who share a language and a time zone get one email together; each group is
its own email, with its own key in the sent log (`<id>/<language>/<time zone>`, an
arrival's id prefixed by its recipient agency: `arrival_key`), so an SMTP failure for one
group never sends another group's email twice.

What an email may hold is what the alert or arrival event holds: ids, agencies (by their
directory names, with the id), kinds, reasons, urgency, times and a link. Neither carries
case content, and nothing here adds any.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import groupby

from broker.look import Look, Reader
from broker.notifier.config import Contacts, Person
from broker.notifier.labels import BASES, KINDS, LEVELS, REASONS, URGENCIES, label
from broker.notifier.rules import arrival_recipients, inbox_link, recipients, thread_link
from schemas.alert import Alert, AlertReason
from schemas.arrival import Arrival

AgencyNames = Callable[[str], str | None]
"""An agency id to its name in the directory in force, or None."""

ARRIVAL_KEY_PREFIX = "arrival:"


@dataclass(frozen=True, slots=True)
class Email:
    """One email: its plain-text subject and body, who receives it, and what it is about.

    `key` is its entry in the sent log: one email per key, ever. `alert_id` or
    `message_id` (an arrival's message) names what it is about in its headers.
    """

    key: str
    to: tuple[str, ...]
    subject: str
    text: str
    alert_id: str | None = None
    message_id: str | None = None


def arrival_key(arrival: Arrival, reader: Reader) -> str:
    """`arrival:<recipient>:<message id>/<language>/<time zone>`, 158 characters at most.

    Scoped by the recipient agency: message ids are chosen by senders, so one agency's
    event must never pass for another's already emailed. Keys of the first form (without
    the recipient) are not read: an event delivered across the upgrade may be emailed once
    more, which the sent log allows anyway (at most twice), and reading them would let an
    old key of one agency's stand for another's.
    """
    return (
        f"{ARRIVAL_KEY_PREFIX}{arrival.recipient}:{arrival.message_id}"
        f"/{reader.language}/{reader.time_zone}"
    )


def no_names(agency: str) -> str | None:
    """Names nobody: emails then show agency ids alone."""
    return None


def one_line(text: str) -> str:
    """A subject on one line: a template's line breaks and runs of spaces closed up."""
    return " ".join(text.split())


class Writer:
    """Writes the emails of alerts and arrivals for the people in `contacts`."""

    def __init__(
        self,
        contacts: Mapping[str, Contacts],
        *,
        dashboard_url: str,
        names: AgencyNames = no_names,
    ) -> None:
        self._contacts = contacts
        self._dashboard_url = dashboard_url
        self._names = names
        self.look = Look([__package__], app_name="Caselink", globals={"agency": self._agency})

    def alert_emails(self, alert: Alert) -> list[Email]:
        """One email per language and time zone of the people `alert` goes to; [] for none."""
        context = {
            "alert": alert,
            "title": label(LEVELS, alert.level.value),
            "reason": label(REASONS, alert.reason.value),
            "kind": label(KINDS, alert.kind.value) if alert.kind is not None else None,
            # Alerts carry no urgency field; a declined emergency says it by its reason.
            "urgency": URGENCIES["emergency"]
            if alert.reason is AlertReason.DECLINED_EMERGENCY
            else None,
            "basis": BASES.get(alert.detail)
            if alert.reason is AlertReason.SHARED_WITHOUT_CONSENT and alert.detail
            else None,
            "link": thread_link(alert, self._dashboard_url),
        }
        return [
            Email(
                key=f"{alert.alert_id}/{reader.language}/{reader.time_zone}",
                to=to,
                subject=one_line(self.look.render("alert_subject.txt", reader, **context)),
                text=self.look.render("alert.txt", reader, **context),
                alert_id=alert.alert_id,
            )
            for reader, to in _groups(recipients(alert, self._contacts))
        ]

    def arrival_emails(self, arrival: Arrival) -> list[Email]:
        """ "New referral" or "new transfer" to the recipient's duty addresses, one email per
        language and time zone; [] when the agency names none."""
        context = {
            "arrival": arrival,
            "kind": label(KINDS, arrival.kind),
            "urgency": URGENCIES[arrival.urgency.value] if arrival.urgency else None,
            "link": inbox_link(arrival, self._contacts),
        }
        return [
            Email(
                key=arrival_key(arrival, reader),
                to=to,
                subject=one_line(self.look.render("arrival_subject.txt", reader, **context)),
                text=self.look.render("arrival.txt", reader, **context),
                message_id=arrival.message_id,
            )
            for reader, to in _groups(arrival_recipients(arrival, self._contacts))
        ]

    def _agency(self, agency_id: str) -> str:
        name = self._names(agency_id)
        return f"{name} ({agency_id})" if name else agency_id


def _groups(people: Iterable[Person]) -> list[tuple[Reader, tuple[str, ...]]]:
    def setting(person: Person) -> tuple[str, str]:
        return person.language, person.time_zone

    found: list[tuple[Reader, tuple[str, ...]]] = []
    for (language, zone), group in groupby(sorted(people, key=setting), key=setting):
        found.append(
            (Reader(language=language, time_zone=zone), tuple(sorted(p.address for p in group)))
        )
    return found
