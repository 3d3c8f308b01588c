"""Who is emailed about which alert, and what the email says (pure)."""

import uuid

import pytest

from broker.notifier.config import Contacts
from broker.notifier.rules import Role, compose, recipients, roles_for
from schemas.alert import Alert, AlertLevel, AlertReason, dead_letters_near_full_alert
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
    assert recipients(alert(*kind, agency), CONTACTS) == tuple(sorted(expected))


def test_capacity_goes_to_the_coordinators() -> None:
    capacity = dead_letters_near_full_alert(
        alert_id=str(uuid.uuid4()), agency=COORDINATION, raised_at=1, depth=8000, bound=10000
    )
    assert roles_for(capacity) == (Role.COORDINATORS,)
    email = compose(capacity, CONTACTS, DASHBOARD)
    assert email is not None
    assert "Dead letters: 8000 of 10000" in email.text
    assert "Open: https://dash.test/\n" in email.text


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
        "Overdue by: 2 h 46 min",
        f"Open: https://dash.test/threads/{THREAD}",
    ):
        assert line in email.text.splitlines()


def test_a_declined_emergency_says_its_urgency() -> None:
    email = compose(alert(*DECLINED, SENDER), CONTACTS, DASHBOARD)
    assert email is not None
    assert "Urgency: emergency" in email.text.splitlines()


def test_no_email_when_nobody_is_configured() -> None:
    assert compose(alert(*REMINDER, RECIPIENT), {}, DASHBOARD) is None
