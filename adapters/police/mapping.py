"""Police notification <-> Caselink, pure: no I/O, no clock, no randomness.

Inbound, each child of a notification becomes one referral to social services (a child is
a referral's subject; siblings at one incident are assessed each in their own thread).
Consent obtained becomes a canonical Consent per child, cited by its referral, whose scope
covers what the referral is sent for (the recipient, the purpose the gateway derives from
it, and safety planning); sharing without consent becomes the referral's lawful basis with
the justification and the authorising officer, named as the gateway's supervisor account
when their collar number is that account's sign-in name. Everything the canonical model
has no field for (what the child saw, their words, the adults, the police reference) goes
into the narrative, labelled.

Outbound, an acknowledgement of one of those referrals becomes a thin callback event
(Standard Webhooks' `type`, `timestamp`, `data`): ids, the status and, when the answer has
them, its categories. Never the answer's free text: the police system asks social services
for the details, and what it was told stays auditable at one place.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.police.native import (
    Adult,
    Child,
    ConsentGiven,
    ConsentGiverRelation,
    IncidentType,
    Notification,
    NotificationType,
    Officer,
    Relationship,
    RiskGrade,
)
from schemas.acknowledgement import Acknowledgement
from schemas.common import Address, Guardian, GuardianRelation, Sex, Subject, Worker
from schemas.consent import (
    Consent,
    ConsentGiver,
    ConsentRelation,
    ConsentScope,
    DataCategory,
    Purpose,
)
from schemas.kinds import ConsentStatus, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel

CONSENT_DAYS = 365
"""How long a consent lasts when the officer gave no end date."""

_REASONS: dict[IncidentType, list[ReasonCategory]] = {
    IncidentType.DOMESTIC_ABUSE: [ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE],
    IncidentType.PHYSICAL_ASSAULT: [ReasonCategory.PHYSICAL_ABUSE],
    IncidentType.SEXUAL_OFFENCE: [ReasonCategory.SEXUAL_ABUSE],
    IncidentType.NEGLECT: [ReasonCategory.NEGLECT],
    IncidentType.CHILD_EXPLOITATION: [ReasonCategory.EXPLOITATION],
    IncidentType.MISSING_CHILD: [ReasonCategory.OTHER],
    IncidentType.ONLINE_HARM: [ReasonCategory.OTHER],
    IncidentType.OTHER: [ReasonCategory.OTHER],
}
_RISK = {
    RiskGrade.HIGH: (RiskLevel.HIGH, Urgency.HIGH),
    RiskGrade.MEDIUM: (RiskLevel.MEDIUM, Urgency.NORMAL),
    RiskGrade.LOW: (RiskLevel.LOW, Urgency.LOW),
}
_GUARDIANS = {
    Relationship.MOTHER: GuardianRelation.MOTHER,
    Relationship.FATHER: GuardianRelation.FATHER,
    Relationship.STEP_PARENT: GuardianRelation.STEP_PARENT,
    Relationship.GRANDPARENT: GuardianRelation.GRANDPARENT,
    Relationship.FOSTER_CARER: GuardianRelation.FOSTER_CARER,
    Relationship.LEGAL_GUARDIAN: GuardianRelation.LEGAL_GUARDIAN,
    Relationship.OTHER_RELATIVE: GuardianRelation.OTHER_RELATIVE,
}
_GIVERS = {
    ConsentGiverRelation.CHILD: ConsentRelation.SELF,
    ConsentGiverRelation.PARENT: ConsentRelation.PARENT,
    ConsentGiverRelation.GUARDIAN: ConsentRelation.GUARDIAN,
    ConsentGiverRelation.CARER: ConsentRelation.CAREGIVER,
    ConsentGiverRelation.OTHER: ConsentRelation.OTHER,
}
# The purpose the gateway's consent rules derive from each referral (an assessment asked,
# or information for the agency to hold: service provision), and safety planning, which a
# parent agreeing to police sharing with social services expects to follow either way.
_SCOPE_PURPOSES = {
    NotificationType.REFERRAL: [Purpose.ASSESSMENT, Purpose.SAFETY_PLANNING],
    NotificationType.INFORMATION_EXCHANGE: [Purpose.SERVICE_PROVISION, Purpose.SAFETY_PLANNING],
}
_SCOPE_DATA = [
    DataCategory.IDENTITY,
    DataCategory.CONTACT,
    DataCategory.FAMILY,
    DataCategory.POLICE_RECORDS,
]


@dataclass(frozen=True)
class ChildReferral:
    """One child's referral, and the consent it cites when consent was obtained."""

    child_ref: str
    referral: Referral
    consent: Consent | None


def referrals_of(
    notification: Notification,
    *,
    recipient: str,
    today: date,
    consent_ids: Sequence[str],
    supervisors: Mapping[str, str] | None = None,
) -> list[ChildReferral]:
    """One referral per child, in the notification's order.

    `consent_ids` (UUIDv4, one per child) name the consents recorded when consent was
    obtained; `today` is when they start (the day the notification was first received, so
    a retry maps the same consent). `supervisors` (see `supervisors_by_collar`) names an
    authorising officer by their account. Raises pydantic.ValidationError when a mapped
    body breaks a canonical rule (its locations are the canonical model's).
    """
    if len(consent_ids) != len(notification.children):
        raise ValueError("one consent id per child")
    return [
        _child_referral(notification, child, recipient, today, consent_id, supervisors or {})
        for child, consent_id in zip(notification.children, consent_ids, strict=True)
    ]


def supervisors_by_collar(accounts: Mapping[str, str]) -> dict[str, str]:
    """Supervisor accounts keyed for `authoriser_of`: `accounts` maps each supervisor's
    sign-in name to their display name; the key is the sign-in name casefolded."""
    return {name.casefold(): display for name, display in accounts.items()}


def authoriser_of(officer: Officer, supervisors: Mapping[str, str]) -> Worker:
    """The authorising officer as a Worker; named as the supervisor account whose sign-in
    name is their collar number (forces key accounts by it), else by the name as sent."""
    worker = worker_of(officer)
    if officer.collar_number is None:
        return worker
    account = supervisors.get(officer.collar_number.casefold())
    return worker if account is None else worker.model_copy(update={"name": account})


def _child_referral(
    notification: Notification,
    child: Child,
    recipient: str,
    today: date,
    consent_id: str,
    supervisors: Mapping[str, str],
) -> ChildReferral:
    subject = subject_of(child, notification.adults)
    risk, urgency = _RISK[notification.risk_grade]
    sharing = notification.consent_to_share
    consent = None
    basis: dict[str, Any]
    if isinstance(sharing, ConsentGiven):
        consent = Consent(
            consent_id=consent_id,
            subject=subject,
            given_by=ConsentGiver(
                name=sharing.given_by_name, relation=_GIVERS[sharing.given_by_relation]
            ),
            scope=ConsentScope(
                agencies=[recipient],
                purposes=_SCOPE_PURPOSES[notification.notification_type],
                data_categories=_SCOPE_DATA,
            ),
            valid_from=today,
            valid_until=sharing.valid_until or today + timedelta(days=CONSENT_DAYS),
            status=ConsentStatus.GRANTED,
            recorded_by=worker_of(notification.officer),
        )
        basis = {"consent_ref": consent_id}
    else:
        basis = {
            "lawful_basis": sharing.basis,
            "justification": sharing.justification,
            "authorised_by": authoriser_of(sharing.authorised_by, supervisors),
        }
    referral = Referral(
        subject=subject,
        reason_categories=_REASONS[notification.incident.type],
        risk_level=risk,
        urgency=urgency,
        requested_service=(
            RequestedService.ASSESSMENT
            if notification.notification_type is NotificationType.REFERRAL
            else RequestedService.OTHER
        ),
        requested_service_detail=(
            None
            if notification.notification_type is NotificationType.REFERRAL
            else "Information shared by the police for the agency to hold; no assessment asked."
        ),
        narrative=narrative_of(notification, child),
        referring_worker=worker_of(notification.officer),
        **basis,
    )
    return ChildReferral(child_ref=child.child_ref, referral=referral, consent=consent)


def worker_of(officer: Officer) -> Worker:
    role = officer.role
    if officer.collar_number is not None:
        role = f"{role} ({officer.collar_number})"[:200]
    return Worker(name=officer.name, role=role, phone=officer.phone, email=officer.email)


def subject_of(child: Child, adults: Sequence[Adult]) -> Subject:
    """The child, with the adults who are family or carers as guardians."""
    address = None
    if child.address is not None:
        address = Address(
            lines=child.address.lines,
            locality=child.address.locality,
            postal_code=child.address.postal_code,
            country=child.address.country,
        )
    guardians = [
        Guardian(
            name=adult.name,
            relation=_GUARDIANS[adult.relationship],
            phone=adult.phone,
            parental_responsibility=adult.parental_responsibility,
        )
        for adult in adults
        if adult.relationship in _GUARDIANS
    ]
    return Subject(
        given_name=child.given_name,
        family_name=child.family_name,
        birth_date=child.dob,
        estimated_age_years=child.estimated_age,
        sex=Sex(child.sex.value),
        languages=child.languages,
        address=address,
        guardians=guardians,
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def narrative_of(notification: Notification, child: Child) -> str:
    """The account social services read: the incident, then what concerns this child.

    Bounded by the native caps (circumstances 8,000, the rest a few thousand characters)
    far below the canonical narrative's 20,000.
    """
    incident = notification.incident
    lines = [
        f"Police notification ({notification.notification_type.value.replace('_', ' ')}) "
        f"from {notification.force}, reference {notification.police_reference}.",
        f"Risk grade: {notification.risk_grade.value}.",
        f"Incident: {incident.type.value.replace('_', ' ')} at {incident.location}, "
        f"{incident.occurred_at.astimezone(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        f"Child present: {_yes(child.present)}; witnessed: {_yes(child.witnessed)}; "
        f"injured: {_yes(child.injured)}.",
    ]
    if child.school is not None:
        lines.append(f"School: {child.school}.")
    lines += ["", "Circumstances:", incident.circumstances]
    if child.voice_of_child is not None:
        lines += ["", "Voice of the child:", child.voice_of_child]
    if notification.adults:
        lines += ["", "Adults involved:"]
        lines += [
            f"- {adult.name} ({adult.relationship.value.replace('_', ' ')}"
            + (f", born {adult.dob.isoformat()}" if adult.dob else "")
            + ")"
            for adult in notification.adults
        ]
    others = [c.child_ref for c in notification.children if c.child_ref != child.child_ref]
    if others:
        lines += ["", f"Other children in this notification (police refs): {', '.join(others)}."]
    return "\n".join(lines)


# Outbound: an answer of social services, as the police system is told of it.

EVENT_PREFIX = "caselink.referral."


@dataclass(frozen=True)
class AnswerFacts:
    """What a callback says about one acknowledgement: ids and categories, never text."""

    ack_message_id: str
    referral_message_id: str
    thread_id: str
    agency: str
    status: str
    answered_at: int  # Unix seconds
    notification_id: str
    police_reference: str
    child_ref: str
    reason_category: str | None = None
    outcome_category: str | None = None
    redirected_to: str | None = None


def categories_of(ack: Acknowledgement) -> dict[str, str | None]:
    """The categories of an answer's body: its reason, its outcome, where it was redirected."""
    return {
        "reason_category": ack.reason.category.value if ack.reason else None,
        "outcome_category": ack.outcome.category.value if ack.outcome else None,
        "redirected_to": ack.redirected_to,
    }


def callback_event(facts: AnswerFacts) -> dict[str, Any]:
    """The Standard Webhooks payload for one answer: `type`, `timestamp`, `data`."""
    answered = datetime.fromtimestamp(facts.answered_at, UTC)
    data: dict[str, Any] = {
        "notification_id": facts.notification_id,
        "police_reference": facts.police_reference,
        "child_ref": facts.child_ref,
        "agency": facts.agency,
        "referral_message_id": facts.referral_message_id,
        "thread_id": facts.thread_id,
        "ack_message_id": facts.ack_message_id,
        "status": facts.status,
    }
    for key in ("reason_category", "outcome_category", "redirected_to"):
        value = getattr(facts, key)
        if value is not None:
            data[key] = value
    return {
        "type": EVENT_PREFIX + facts.status,
        "timestamp": answered.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": data,
    }


def callback_answer(event: dict[str, Any]) -> AnswerFacts:
    """The facts a callback event carries: its inverse, as the police system reads it."""
    data = event["data"]
    answered = datetime.fromisoformat(str(event["timestamp"]).replace("Z", "+00:00"))
    return AnswerFacts(
        ack_message_id=data["ack_message_id"],
        referral_message_id=data["referral_message_id"],
        thread_id=data["thread_id"],
        agency=data["agency"],
        status=str(event["type"]).removeprefix(EVENT_PREFIX),
        answered_at=int(answered.timestamp()),
        notification_id=data["notification_id"],
        police_reference=data["police_reference"],
        child_ref=data["child_ref"],
        reason_category=data.get("reason_category"),
        outcome_category=data.get("outcome_category"),
        redirected_to=data.get("redirected_to"),
    )
