"""Every email, subject and body, in every language: no message left untranslated, the
recipient's time zone and form for times, nothing outside the catalogue."""

import uuid
from collections.abc import Iterator
from gettext import NullTranslations

import pytest

import broker.look.pages
from broker.look import LANGUAGES, translations
from broker.notifier.config import Contacts, Recipient
from broker.notifier.emails import Email, Writer
from schemas.alert import Alert, AlertLevel, AlertReason, dead_letters_near_full_alert
from schemas.arrival import Arrival
from schemas.kinds import LawfulBasis, MessageKind

SENDER, RECIPIENT, COORDINATION = "police-west", "social-east", "region-coordination"
THREAD, MESSAGE = str(uuid.uuid4()), str(uuid.uuid4())


class Recording(NullTranslations):
    """The real catalogue of a language, noting each message it had no translation for."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.real = translations(language)
        self.untranslated: set[str] = set()

    def gettext(self, message: str) -> str:
        # In the catalogue with a translation (which may read as the English: "normal").
        catalogue: dict[str, str] = getattr(self.real, "_catalog", {})
        if not catalogue.get(message):
            self.untranslated.add(message)
        return self.real.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.real.ngettext(singular, plural, n)


def everyone(language: str) -> dict[str, Contacts]:
    zone = {"th": "Asia/Bangkok", "da": "Europe/Copenhagen", "es": "America/Bogota"}
    person = Recipient(
        address=f"{language}@agency.test", language=language, time_zone=zone.get(language, "UTC")
    )
    contacts = Contacts(duty=[person], supervisors=[person], coordinators=[person])
    return {
        SENDER: contacts,
        RECIPIENT: contacts.model_copy(update={"inbox_url": "https://east.test"}),
        COORDINATION: contacts,
    }


def every_alert() -> Iterator[Alert]:
    base = {
        "thread_id": THREAD,
        "message_id": MESSAGE,
        "kind": MessageKind.REFERRAL,
        "sender": SENDER,
        "recipient": RECIPIENT,
        "raised_at": 1_700_000_000,
    }
    overdue = {"deadline": 1_699_990_000, "overdue_seconds": 10_000}
    for reason in (
        AlertReason.DELIVERY_OVERDUE,
        AlertReason.RESPONSE_OVERDUE,
        AlertReason.COMPLETION_OVERDUE,
    ):
        for level, agency in (
            (AlertLevel.REMINDER, RECIPIENT),
            (AlertLevel.ESCALATION, SENDER),
            (AlertLevel.ESCALATION, COORDINATION),
        ):
            yield Alert.model_validate(
                base
                | overdue
                | {"alert_id": str(uuid.uuid4()), "level": level, "reason": reason}
                | {"agency": agency}
            )
    yield Alert.model_validate(
        base
        | {"alert_id": str(uuid.uuid4()), "agency": SENDER}
        | {"level": AlertLevel.DECLINED, "reason": AlertReason.DECLINED_EMERGENCY}
    )
    for basis in LawfulBasis:
        yield Alert.model_validate(
            base
            | {"alert_id": str(uuid.uuid4()), "agency": COORDINATION, "detail": basis.value}
            | {"level": AlertLevel.FLAGGED, "reason": AlertReason.SHARED_WITHOUT_CONSENT}
        )
    yield dead_letters_near_full_alert(
        alert_id=str(uuid.uuid4()), agency=COORDINATION, raised_at=1, depth=8000, bound=10000
    )


def every_arrival() -> Iterator[Arrival]:
    for kind, urgencies in (
        ("referral", ("emergency", "high", "normal", "low", None)),
        ("transfer", (None,)),
    ):
        for urgency in urgencies:
            yield Arrival.model_validate(
                {
                    "message_id": MESSAGE,
                    "thread_id": THREAD,
                    "kind": kind,
                    "urgency": urgency,
                    "sender": SENDER,
                    "recipient": RECIPIENT,
                    "arrived_at": 1_700_000_000,
                }
            )


@pytest.mark.parametrize("language", list(LANGUAGES))
def test_every_email_in_every_language_is_fully_translated(
    language: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = Recording(language)
    monkeypatch.setattr(broker.look.pages, "translations", lambda _language: recording)
    writer = Writer(everyone(language), dashboard_url="https://dash.test")
    emails: list[Email] = []
    for alert in every_alert():
        [email] = writer.alert_emails(alert)
        emails.append(email)
    for event in every_arrival():
        [email] = writer.arrival_emails(event)
        emails.append(email)
    assert len(emails) == 22
    if language == "en":
        # English has no catalogue: every message is "untranslated", which shows the
        # recording sees every message the templates translate.
        assert {"Thread", "[Caselink] New transfer", "vital interests"} <= recording.untranslated
    else:
        assert recording.untranslated == set()
    for email in emails:
        assert email.to == (f"{language}@agency.test",)
        assert email.key.split("/")[1] == language
        assert "\n" not in email.subject
        assert email.subject.startswith("[Caselink] ")
        for text in (email.subject, email.text):
            assert "{" not in text
            assert "%(" not in text
        if language != "en":
            # No English label left in the body: the words around the ids are translated.
            for english in ("Thread:", "From agency:", "referral", "Open:"):
                assert english not in email.text


@pytest.mark.parametrize(
    ("language", "zone", "arrived"),
    [
        ("en", "UTC", "11/14/23, 10:13\u202fPM UTC"),
        ("da", "Europe/Copenhagen", "14.11.2023 23.13 CET"),
        ("es", "America/Bogota", "14/11/23, 17:13 -05"),
        ("th", "Asia/Bangkok", "15/11/23 05:13 น. +07"),
    ],
)
def test_times_are_in_the_recipients_zone_and_form(language: str, zone: str, arrived: str) -> None:
    contacts = {
        RECIPIENT: Contacts(duty=["duty@east.test"], language=language, time_zone=zone),
    }
    [email] = Writer(contacts, dashboard_url="https://dash.test").arrival_emails(
        next(every_arrival())
    )
    assert email.text.splitlines()[-1].endswith(arrived) or arrived in email.text
