"""One valid, obviously synthetic body per message kind, for docs, the CLI and benchmarks.

Every name, number and id here is invented ("Test Child", 555 numbers, `.example` mail,
UUIDs counting from 00000000-0000-4000-8000-000000000001). The referral is about 2 KiB as
JSON, the size the benchmarks assume for a typical message.
"""

from collections.abc import Callable
from datetime import date

from pydantic import BaseModel

from schemas.acknowledgement import Acknowledgement, Outcome, OutcomeCategory
from schemas.alert import Alert, AlertLevel, AlertReason
from schemas.common import Address, Attachment, Guardian, GuardianRelation, Sex, Subject, Worker
from schemas.consent import (
    Consent,
    ConsentGiver,
    ConsentRelation,
    ConsentScope,
    DataCategory,
    Purpose,
)
from schemas.kinds import AckStatus, AgencyKind, ConsentStatus, MessageKind, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel
from schemas.transfer import (
    Assessment,
    CasePlan,
    Goal,
    GoalStatus,
    Transfer,
    TransferReason,
)

CONSENT_ID = "00000000-0000-4000-8000-000000000001"
ANSWERED_MESSAGE_ID = "00000000-0000-4000-8000-000000000002"
THREAD_ID = "00000000-0000-4000-8000-000000000003"
ALERT_ID = "00000000-0000-4000-8000-000000000004"


def _subject() -> Subject:
    return Subject(
        given_name="Test",
        family_name="Child",
        other_names=["Sample"],
        birth_date=date(2015, 6, 1),
        sex=Sex.UNKNOWN,
        languages=["en", "ar"],
        address=Address(
            lines=["1 Example Street"],
            locality="Sampletown",
            region="Testshire",
            postal_code="ZZ1 1ZZ",
            country="GB",
        ),
        guardians=[
            Guardian(
                name="Test Parent",
                relation=GuardianRelation.PARENT,
                phone="+44 5550 000001",
                email="parent@test.example",
                parental_responsibility=True,
            )
        ],
    )


def _worker(name: str, role: str) -> Worker:
    return Worker(name=name, role=role, phone="+44 5550 000100", email="worker@agency.example")


def _referral() -> Referral:
    return Referral(
        subject=_subject(),
        reason_categories=[ReasonCategory.NEGLECT, ReasonCategory.SCHOOL_ABSENCE],
        risk_level=RiskLevel.MEDIUM,
        urgency=Urgency.HIGH,
        requested_service=RequestedService.ASSESSMENT,
        requested_service_detail="Initial assessment by the children's services duty team.",
        narrative=(
            "SYNTHETIC EXAMPLE, NOT A REAL CASE. Test Child has missed eleven school days in "
            "the last four weeks without explanation. Staff at Example Primary School noticed "
            "the child arriving hungry on several mornings, in the same clothes for days at a "
            "time, and without a coat in cold weather. The class teacher spoke with the child, "
            "who said that there is often no food at home and that an older sibling looks "
            "after them in the evenings. Two home visits by the school family worker found "
            "nobody at home. The parent did not answer letters or phone calls. The school is "
            "worried about neglect and asks for an assessment of the child's needs and of "
            "the family's circumstances. The child's language at home is Arabic; an interpreter "
            "may be needed for the parent. No injuries have been seen and the child has not "
            "asked for help directly."
        ),
        referring_worker=_worker("Test Teacher", "Designated safeguarding lead"),
        lawful_basis=None,
        consent_ref=CONSENT_ID,
        attachments=[
            Attachment(
                content_type="text/plain",
                filename="attendance-summary.txt",
                description="Synthetic attendance summary for the last four weeks.",
                data=b"Week 1: 3/5 days\nWeek 2: 2/5 days\nWeek 3: 2/5 days\nWeek 4: 2/5 days\n",
            )
        ],
    )


def _transfer() -> Transfer:
    return Transfer(
        subject=_subject(),
        case_summary="SYNTHETIC EXAMPLE. Family moved to the receiving municipality last month.",
        assessments=[
            Assessment(
                type="Child and family assessment",
                date=date(2025, 1, 15),
                summary="Needs identified around school attendance and household routines.",
            )
        ],
        case_plan=CasePlan(
            goals=[
                Goal(
                    description="Attendance above 90% for a full term.",
                    target_date=date(2025, 7, 1),
                    status=GoalStatus.IN_PROGRESS,
                )
            ]
        ),
        reason=TransferReason.FAMILY_MOVED,
        transferring_worker=_worker("Test Social Worker", "Case worker"),
        consent_ref=CONSENT_ID,
    )


def _consent() -> Consent:
    return Consent(
        consent_id=CONSENT_ID,
        subject=_subject(),
        given_by=ConsentGiver(name="Test Parent", relation=ConsentRelation.PARENT),
        scope=ConsentScope(
            agency_kinds=[AgencyKind.SOCIAL_SERVICES, AgencyKind.HEALTH],
            purposes=[Purpose.ASSESSMENT, Purpose.SERVICE_PROVISION],
            data_categories=[DataCategory.IDENTITY, DataCategory.CONTACT, DataCategory.EDUCATION],
        ),
        # In date for years: the walk-through records it and sends a referral under it.
        valid_from=date(2025, 1, 1),
        valid_until=date(2030, 12, 31),
        status=ConsentStatus.GRANTED,
        recorded_by=_worker("Test Teacher", "Designated safeguarding lead"),
    )


def _acknowledgement() -> Acknowledgement:
    return Acknowledgement(
        status=AckStatus.COMPLETED,
        answers=ANSWERED_MESSAGE_ID,
        outcome=Outcome(category=OutcomeCategory.SERVICE_PROVIDED),
        responded_by=_worker("Test Duty Manager", "Duty team manager"),
    )


def _alert() -> Alert:
    return Alert(
        alert_id=ALERT_ID,
        level=AlertLevel.REMINDER,
        reason=AlertReason.RESPONSE_OVERDUE,
        agency="test-coordinator",
        thread_id=THREAD_ID,
        message_id=ANSWERED_MESSAGE_ID,
        kind=MessageKind.REFERRAL,
        sender="test-school",
        recipient="test-social",
        raised_at=1_767_225_600,
        deadline=1_767_139_200,
        overdue_seconds=86_400,
    )


_EXAMPLES: dict[MessageKind, Callable[[], BaseModel]] = {
    MessageKind.REFERRAL: _referral,
    MessageKind.TRANSFER: _transfer,
    MessageKind.CONSENT: _consent,
    MessageKind.ACKNOWLEDGEMENT: _acknowledgement,
    MessageKind.ALERT: _alert,
}


def example_body(kind: MessageKind) -> BaseModel:
    """A fresh synthetic body of `kind`; raises KeyError for a kind without a body model."""
    return _EXAMPLES[kind]()
