"""Who hears of an alert or an arrival by email (pure).

The tracker already addresses each alert to one agency (`Alert.agency`), one copy per
audience of its ladder (broker/tracker/escalation.py): the recipient agency, the sender
agency, or each coordination agency. So every alert is one email at most per recipient
language, and who reads it follows from the agency it is addressed to and whether that
agency is a party:

| alert                              | to a party (sender or recipient)  | to a coordinator |
|------------------------------------|-----------------------------------|------------------|
| reminder (a deadline passed)       | the recipient's duty address      | none (dashboard) |
| escalation (twice the deadline)    | that agency's supervisors         | coordinators     |
| declined emergency referral        | the sender's duty and supervisors | coordinators     |
| shared without consent (flagged)   | none                              | coordinators     |
| dead-letter queue near full        | none                              | coordinators     |

Every other alert (refused envelopes, gaps, declined transfers...) is shown on the
dashboard and not emailed. An arrival event (a gateway stored a referral or transfer in its
inbox, schemas/arrival.py) goes to the recipient agency's duty addresses: "new referral"
or "new transfer". Each address is emailed in its own language and time zone
(`Contacts.people`); `broker/notifier/emails.py` writes the emails.
"""

from collections.abc import Mapping
from enum import StrEnum

from broker.notifier.config import Contacts, Person
from schemas.alert import OVERDUE_REASONS, Alert, AlertLevel, AlertReason
from schemas.arrival import Arrival


class Role(StrEnum):
    DUTY = "duty"
    SUPERVISORS = "supervisors"
    COORDINATORS = "coordinators"


def roles_for(alert: Alert) -> tuple[Role, ...]:
    """The roles of `alert.agency` that hear of `alert` by email; empty for none."""
    party = alert.agency in (alert.sender, alert.recipient)
    level, reason = alert.level, alert.reason
    if level is AlertLevel.REMINDER and reason in OVERDUE_REASONS:
        return (Role.DUTY,) if alert.agency == alert.recipient else ()
    if level is AlertLevel.ESCALATION and reason in OVERDUE_REASONS:
        return (Role.SUPERVISORS,) if party else (Role.COORDINATORS,)
    if level is AlertLevel.DECLINED and reason is AlertReason.DECLINED_EMERGENCY:
        return (Role.DUTY, Role.SUPERVISORS) if party else (Role.COORDINATORS,)
    if level is AlertLevel.FLAGGED and reason is AlertReason.SHARED_WITHOUT_CONSENT:
        return () if party else (Role.COORDINATORS,)
    if level is AlertLevel.CAPACITY and reason is AlertReason.DEAD_LETTERS_NEAR_FULL:
        return () if party else (Role.COORDINATORS,)
    return ()


def _people(agency: Contacts | None, roles: tuple[Role, ...]) -> tuple[Person, ...]:
    if agency is None:
        return ()
    # Each address once, sorted: an address in two roles keeps the first role's settings.
    found: dict[str, Person] = {}
    for role in roles:
        for person in agency.people(role.value):
            found.setdefault(person.address, person)
    return tuple(found[address] for address in sorted(found))


def recipients(alert: Alert, contacts: Mapping[str, Contacts]) -> tuple[Person, ...]:
    """Who `alert` goes to, sorted by address, each once; empty when none is configured."""
    return _people(contacts.get(alert.agency), roles_for(alert))


def arrival_recipients(arrival: Arrival, contacts: Mapping[str, Contacts]) -> tuple[Person, ...]:
    """The recipient agency's duty addresses, sorted, each once."""
    return _people(contacts.get(arrival.recipient), (Role.DUTY,))


def inbox_link(arrival: Arrival, contacts: Mapping[str, Contacts]) -> str | None:
    """The message's inbox page on its recipient's gateway, when its config names one."""
    agency = contacts.get(arrival.recipient)
    if agency is None or agency.inbox_url is None:
        return None
    return f"{agency.inbox_url.rstrip('/')}/inbox/{arrival.message_id}"


def thread_link(alert: Alert, dashboard_url: str) -> str:
    """The dashboard page of the alert's thread, or the dashboard's front page."""
    base = dashboard_url.rstrip("/")
    return f"{base}/threads/{alert.thread_id}" if alert.thread_id else f"{base}/"
