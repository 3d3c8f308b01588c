"""Who hears of an alert by email, and what the email says (pure).

The tracker already addresses each alert to one agency (`Alert.agency`), one copy per
audience of its ladder (broker/tracker/escalation.py): the recipient agency, the sender
agency, or each coordination agency. So every alert is one email at most, and who reads it
follows from the agency it is addressed to and whether that agency is a party:

| alert                              | to a party (sender or recipient)  | to a coordinator |
|------------------------------------|-----------------------------------|------------------|
| reminder (a deadline passed)       | the recipient's duty address      | none (dashboard) |
| escalation (twice the deadline)    | that agency's supervisors         | coordinators     |
| declined emergency referral        | the sender's duty and supervisors | coordinators     |
| shared without consent (flagged)   | none                              | coordinators     |
| dead-letter queue near full        | none                              | coordinators     |

Every other alert (refused envelopes, gaps, declined transfers...) is shown on the
dashboard and not emailed. The email holds what the alert holds: ids, agencies, kind,
reason, times and a link to the thread's page on the dashboard. Alerts carry no case
content, and nothing here adds any.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from broker.notifier.config import Contacts
from schemas.alert import OVERDUE_REASONS, Alert, AlertLevel, AlertReason


class Role(StrEnum):
    DUTY = "duty"
    SUPERVISORS = "supervisors"
    COORDINATORS = "coordinators"


@dataclass(frozen=True, slots=True)
class Email:
    """One email about one alert: its plain-text subject and body, and who receives it."""

    alert_id: str
    to: tuple[str, ...]
    subject: str
    text: str


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


def recipients(alert: Alert, contacts: Mapping[str, Contacts]) -> tuple[str, ...]:
    """The addresses `alert` goes to, sorted, each once; empty when none is configured."""
    agency = contacts.get(alert.agency)
    if agency is None:
        return ()
    found = {address for role in roles_for(alert) for address in getattr(agency, role.value)}
    return tuple(sorted(found))


_TITLES = {
    AlertLevel.REMINDER: "Reminder",
    AlertLevel.ESCALATION: "Escalation",
    AlertLevel.DECLINED: "Declined",
    AlertLevel.FLAGGED: "For review",
    AlertLevel.CAPACITY: "Capacity",
}


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60} min" if hours else f"{rest // 60} min"


def thread_link(alert: Alert, dashboard_url: str) -> str:
    """The dashboard page of the alert's thread, or the dashboard's front page."""
    base = dashboard_url.rstrip("/")
    return f"{base}/threads/{alert.thread_id}" if alert.thread_id else f"{base}/"


def _urgency(alert: Alert) -> str | None:
    # Alerts carry no urgency field; a declined emergency says it by its reason.
    return "emergency" if alert.reason is AlertReason.DECLINED_EMERGENCY else None


def _lines(alert: Alert, dashboard_url: str) -> list[str]:
    rows: list[tuple[str, str | None]] = [
        ("Alert", alert.alert_id),
        ("Level", alert.level.value),
        ("Reason", alert.reason.value.replace("_", " ")),
        ("Addressed to", alert.agency),
        ("Thread", alert.thread_id),
        ("Message", alert.message_id),
        ("Kind", alert.kind.value if alert.kind else None),
        ("Urgency", _urgency(alert)),
        ("From agency", alert.sender),
        ("To agency", alert.recipient),
        ("Deadline", _when(alert.deadline) if alert.deadline is not None else None),
        (
            "Overdue by",
            _duration(alert.overdue_seconds) if alert.overdue_seconds is not None else None,
        ),
        ("Detail", alert.detail),
        (
            "Dead letters",
            f"{alert.queue_depth} of {alert.queue_bound}"
            if alert.queue_depth is not None and alert.queue_bound is not None
            else None,
        ),
        ("Raised", _when(alert.raised_at)),
    ]
    return [f"{name}: {value}" for name, value in rows if value is not None]


def subject_of(alert: Alert) -> str:
    """`[Caselink] Escalation: response overdue (referral)`: short enough for one header
    line (SMTP folds past 78 characters); the agencies are in the body."""
    title = _TITLES.get(alert.level, alert.level.value)
    about = alert.reason.value.replace("_", " ")
    if alert.kind is not None:
        return f"[Caselink] {title}: {about} ({alert.kind.value})"
    return f"[Caselink] {title}: {about}"


def compose(alert: Alert, contacts: Mapping[str, Contacts], dashboard_url: str) -> Email | None:
    """The email `alert` calls for, or None when nobody is to be emailed about it."""
    to = recipients(alert, contacts)
    if not to:
        return None
    text = "\n".join(
        [
            "Caselink needs someone to look at a thread. This email holds ids only; the case",
            "itself is read in the agency's own system.",
            "",
            *_lines(alert, dashboard_url),
            "",
            f"Open: {thread_link(alert, dashboard_url)}",
            "",
        ]
    )
    return Email(alert_id=alert.alert_id, to=to, subject=subject_of(alert), text=text)
