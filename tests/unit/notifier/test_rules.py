"""Who is emailed about which alert or arrival, and what the email says (pure)."""

import uuid

import pytest

from broker.notifier.config import Contacts, Recipient
from broker.notifier.emails import Email, Writer
from broker.notifier.rules import Role, arrival_recipients, inbox_link, recipients, roles_for
from schemas.alert import Alert, AlertLevel, AlertReason, dead_letters_near_full_alert
from schemas.arrival import Arrival
from schemas.kinds import MessageKind

SENDER, RECIPIENT, COORDINATION = "police-west", "social-east", "region-coordination"
CONTACTS = {
    SENDER: Contacts(duty=["duty@police.test"], supervisors=["chief@police.test"]),
    RECIPIENT: Contacts(duty=["duty@social.test"], supervisors=["lead@social.test"]),
    COORDINATION: Contacts(coordinators=["coord@region.test", "coord2@region.test"]),
}
DASHBOARD = "https://dash.test/"
THREAD = str(uuid.uuid4())


def alert(level: AlertLevel, reason: AlertReason, agency: str, **extra: object) -> Alert:
    fields: dict[str, object] = {
        "alert_id": str(uuid.uuid4()),
        "level": level,
        "reason": reason,
        "agency": agency,
        "thread_id": THREAD,
        "message_id": str(uuid.uuid4()),
        "kind": MessageKind.REFERRAL,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "raised_at": 1_700_000_000,
    }
    if reason is AlertReason.RESPONSE_OVERDUE:
        fields |= {"deadline": 1_699_990_000, "overdue_seconds": 10_000}
    return Alert.model_validate(fields | extra)


REMINDER = (AlertLevel.REMINDER, AlertReason.RESPONSE_OVERDUE)
ESCALATION = (AlertLevel.ESCALATION, AlertReason.RESPONSE_OVERDUE)
DECLINED = (AlertLevel.DECLINED, AlertReason.DECLINED_EMERGENCY)
SHARED = (AlertLevel.FLAGGED, AlertReason.SHARED_WITHOUT_CONSENT)


@pytest.mark.parametrize(
    ("kind", "agency", "expected"),
    [
        (REMINDER, RECIPIENT, ("duty@social.test",)),
        (REMINDER, COORDINATION, ()),  # the coordinators' copy is on the dashboard
        (ESCALATION, SENDER, ("chief@police.test",)),
        (ESCALATION, RECIPIENT, ("lead@social.test",)),
        (ESCALATION, COORDINATION, ("coord2@region.test", "coord@region.test")),
        (DECLINED, SENDER, ("chief@police.test", "duty@police.test")),
        (DECLINED, COORDINATION, ("coord2@region.test", "coord@region.test")),
        (SHARED, COORDINATION, ("coord2@region.test", "coord@region.test")),
        ((AlertLevel.DECLINED, AlertReason.DECLINED_TRANSFER), SENDER, ()),
        ((AlertLevel.REFUSED, AlertReason.REFUSED_ENVELOPE), RECIPIENT, ()),
        (REMINDER, "unknown-agency", ()),
    ],
)
def test_the_right_people_for_each_alert(
    kind: tuple[AlertLevel, AlertReason], agency: str, expected: tuple[str, ...]
) -> None:
    found = recipients(alert(*kind, agency), CONTACTS)
    assert tuple(person.address for person in found) == tuple(sorted(expected))


def compose(item: Alert, contacts: dict[str, Contacts], dashboard: str) -> Email | None:
    """The one email of an alert whose recipients share a language, or None."""
    emails = Writer(contacts, dashboard_url=dashboard).alert_emails(item)
    assert len(emails) <= 1
    return emails[0] if emails else None


def test_capacity_goes_to_the_coordinators() -> None:
    capacity = dead_letters_near_full_alert(
        alert_id=str(uuid.uuid4()), agency=COORDINATION, raised_at=1, depth=8000, bound=10000
    )
    assert roles_for(capacity) == (Role.COORDINATORS,)
    email = compose(capacity, CONTACTS, DASHBOARD)
    assert email is not None
    assert "Dead letters: 8,000 of 10,000" in email.text
    assert email.text.endswith("\nOpen: https://dash.test/")


def test_the_email_holds_ids_agencies_kind_reason_and_the_thread_link() -> None:
    escalation = alert(*ESCALATION, COORDINATION)
    email = compose(escalation, CONTACTS, DASHBOARD)
    assert email is not None
    assert email.alert_id == escalation.alert_id
    assert email.subject == ("[Caselink] Escalation: response overdue (referral)")
    for line in (
        f"Alert: {escalation.alert_id}",
        f"Thread: {THREAD}",
        f"Message: {escalation.message_id}",
        "Kind: referral",
        "From agency: police-west",
        "To agency: social-east",
        "Reason: response overdue",
        "Overdue by: 3 hr",
        f"Open: https://dash.test/threads/{THREAD}",
    ):
        assert line in email.text.splitlines()


def test_a_declined_emergency_says_its_urgency() -> None:
    email = compose(alert(*DECLINED, SENDER), CONTACTS, DASHBOARD)
    assert email is not None
    assert "Urgency: emergency" in email.text.splitlines()


def test_no_email_when_nobody_is_configured() -> None:
    assert compose(alert(*REMINDER, RECIPIENT), {}, DASHBOARD) is None


def arrival(kind: str = "referral", **extra: object) -> Arrival:
    fields: dict[str, object] = {
        "message_id": str(uuid.uuid4()),
        "thread_id": THREAD,
        "kind": kind,
        "urgency": "high" if kind == "referral" else None,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "arrived_at": 1_700_000_000,
    }
    return Arrival.model_validate(fields | extra)


def test_an_arrival_goes_to_the_recipients_duty_address_only() -> None:
    found = arrival_recipients(arrival(), CONTACTS)
    assert [person.address for person in found] == ["duty@social.test"]
    assert arrival_recipients(arrival(recipient="unknown-agency"), CONTACTS) == ()


def test_an_arrival_links_to_the_inbox_page_on_the_recipients_gateway() -> None:
    contacts = CONTACTS | {
        RECIPIENT: Contacts(duty=["duty@social.test"], inbox_url="https://east.test/gw/")
    }
    new = arrival()
    assert inbox_link(new, contacts) == f"https://east.test/gw/inbox/{new.message_id}"
    assert inbox_link(new, CONTACTS) is None


def test_a_new_referral_email_names_ids_agencies_kind_urgency_and_the_page() -> None:
    contacts = CONTACTS | {
        RECIPIENT: Contacts(duty=["duty@social.test"], inbox_url="https://east.test")
    }
    names = {SENDER: "Police West", RECIPIENT: "Social Services East"}
    writer = Writer(contacts, dashboard_url=DASHBOARD, names=names.get)
    new = arrival()
    [email] = writer.arrival_emails(new)
    assert email.to == ("duty@social.test",)
    assert email.key == f"arrival:{RECIPIENT}:{new.message_id}/en/UTC"
    assert email.message_id == new.message_id
    assert email.alert_id is None
    assert email.subject == "[Caselink] New referral (urgency: high)"
    lines = email.text.splitlines()
    for line in (
        f"Message: {new.message_id}",
        f"Thread: {THREAD}",
        "Kind: referral",
        "Urgency: high",
        "From agency: Police West (police-west)",
        "To agency: Social Services East (social-east)",
        "Arrived: 11/14/23, 10:13\u202fPM UTC",
        f"Open: https://east.test/inbox/{new.message_id}",
    ):
        assert line in lines
    [transfer] = writer.arrival_emails(arrival("transfer"))
    assert transfer.subject == "[Caselink] New transfer"
    assert "Urgency" not in transfer.text


def test_recipients_are_grouped_by_language_and_time_zone() -> None:
    contacts = {
        RECIPIENT: Contacts(
            duty=[
                "a@social.test",
                Recipient(address="b@social.test", language="th", time_zone="Asia/Bangkok"),
                Recipient(address="c@social.test", language="th", time_zone="Asia/Bangkok"),
                Recipient(address="d@social.test", time_zone="Europe/Copenhagen"),
            ],
            language="da",
        )
    }
    emails = Writer(contacts, dashboard_url=DASHBOARD).arrival_emails(arrival())
    grouped = {email.key.split("/", 1)[1]: email.to for email in emails}
    assert grouped == {
        "da/Europe/Copenhagen": ("d@social.test",),
        "da/UTC": ("a@social.test",),
        "th/Asia/Bangkok": ("b@social.test", "c@social.test"),
    }
    by_key = {email.key.split("/", 1)[1]: email for email in emails}
    assert by_key["th/Asia/Bangkok"].subject.startswith("[Caselink] การส่งต่อเคสใหม่")
    assert "15/11/23 05:13" in by_key["th/Asia/Bangkok"].text  # Bangkok time, Thai form
    assert "Modtaget: 14.11.2023 23.13 CET" in by_key["da/Europe/Copenhagen"].text
