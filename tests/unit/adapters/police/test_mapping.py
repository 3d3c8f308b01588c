"""Police notification -> referrals (and consents), and answers -> callback events, both ways."""

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adapters.police.mapping import (
    AnswerFacts,
    callback_answer,
    callback_event,
    categories_of,
    referrals_of,
    supervisors_by_collar,
)
from adapters.police.native import Notification
from adapters.police.sample import sample_notification
from schemas.acknowledgement import (
    Acknowledgement,
    AckReason,
    AckReasonCategory,
    Outcome,
    OutcomeCategory,
)
from schemas.common import GuardianRelation, LawfulBasis, Worker
from schemas.kinds import AckStatus, ConsentStatus, Urgency
from schemas.referral import ReasonCategory, RequestedService, RiskLevel
from tests.strategies import agency_ids, uuids

TODAY = date(2025, 3, 9)
IDS = [
    "0b0e7c1a-3f6e-4c4b-9d55-2f1f2f6b0c01",
    "0b0e7c1a-3f6e-4c4b-9d55-2f1f2f6b0c02",
    "0b0e7c1a-3f6e-4c4b-9d55-2f1f2f6b0c03",
]


def mapped(**options: object) -> list:  # type: ignore[type-arg]
    notification = Notification.model_validate(sample_notification(**options))  # type: ignore[arg-type]
    count = len(notification.children)
    return referrals_of(notification, recipient="social-east", today=TODAY, consent_ids=IDS[:count])


def test_each_child_becomes_a_referral_on_the_lawful_basis() -> None:
    children = mapped(children=3)
    assert [c.child_ref for c in children] == ["P71200", "P71201", "P71202"]
    first = children[0].referral
    assert first.subject.given_name == "Maya"
    assert first.subject.family_name == "Turner"
    assert first.subject.birth_date == date(2013, 1, 14)
    assert first.subject.address is not None
    assert first.subject.address.postal_code == "WF2 7QJ"
    assert [g.relation for g in first.subject.guardians] == [
        GuardianRelation.MOTHER,
        GuardianRelation.FATHER,
    ]
    assert first.reason_categories == [ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE]
    assert (first.risk_level, first.urgency) == (RiskLevel.HIGH, Urgency.HIGH)
    assert first.requested_service is RequestedService.ASSESSMENT
    assert first.referring_worker == Worker(
        name="DC Priya Shah",
        role="Detective Constable, Public Protection Unit (WP4471)",
        phone="+44 20 7946 0101",
        email="priya.shah@west.police.example",
    )
    assert first.lawful_basis is LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    assert first.authorised_by is not None
    assert first.authorised_by.name == "DS Tom Okafor"
    assert first.consent_ref is None
    assert children[0].consent is None
    # What the model has no field for is in the narrative, labelled.
    assert "WP/25/018344" in first.narrative
    assert "Voice of the child:\nSaid she hid" in first.narrative
    assert "witnessed: yes" in first.narrative
    assert "Other children in this notification (police refs): P71201, P71202." in first.narrative
    assert "Voice of the child" not in children[1].referral.narrative


def test_consent_obtained_becomes_a_consent_cited_by_the_referral() -> None:
    [child] = mapped(consent=True)
    assert child.consent is not None
    assert child.referral.consent_ref == IDS[0] == child.consent.consent_id
    assert child.referral.lawful_basis is None
    assert child.consent.status is ConsentStatus.GRANTED
    assert child.consent.subject == child.referral.subject
    assert child.consent.scope.agencies == ["social-east"]
    assert (child.consent.valid_from, child.consent.valid_until) == (TODAY, date(2026, 3, 9))
    assert child.consent.given_by.name == "Claire Turner"


def test_grades_and_information_only() -> None:
    document = sample_notification(risk_grade="low")
    document["notification_type"] = "information_exchange"
    notification = Notification.model_validate(document)
    [child] = referrals_of(notification, recipient="social-east", today=TODAY, consent_ids=IDS[:1])
    assert (child.referral.risk_level, child.referral.urgency) == (RiskLevel.LOW, Urgency.LOW)
    assert child.referral.requested_service is RequestedService.OTHER


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["children"][0].pop("dob"), ("children", 0)),
        (lambda d: d["children"][0].update(estimated_age=9), ("children", 0)),
        (lambda d: d.update(risk_grade="amber"), ("risk_grade",)),
        (lambda d: d.update(children=[]), ("children",)),
        (lambda d: d["consent_to_share"].pop("justification"), ("consent_to_share",)),
        (lambda d: d.update(nickname="Mo Turner"), ("nickname",)),
    ],
)
def test_malformed_notifications_are_refused_without_their_values(change, where) -> None:  # type: ignore[no-untyped-def]
    document = sample_notification()
    change(document)
    with pytest.raises(ValidationError) as refused:
        Notification.model_validate(document)
    assert any(e["loc"][: len(where)] == where for e in refused.value.errors())
    assert "Turner" not in str(refused.value)
    assert "amber" not in str(refused.value)


def test_answer_categories_and_never_text() -> None:
    ack = Acknowledgement(
        status=AckStatus.DECLINED,
        answers=IDS[0],
        reason=AckReason(category=AckReasonCategory.ALREADY_KNOWN, text="Known to Maya's team"),
        responded_by=Worker(name="Ana Lopes", role="Duty social worker"),
        note="Spoke to the mother",
    )
    assert categories_of(ack) == {
        "reason_category": "already_known",
        "outcome_category": None,
        "redirected_to": None,
    }
    done = ack.model_copy(
        update={
            "status": AckStatus.COMPLETED,
            "reason": None,
            "outcome": Outcome(category=OutcomeCategory.SERVICE_PROVIDED, text="Plan agreed"),
        }
    )
    assert categories_of(done)["outcome_category"] == "service_provided"
    # A plan recorded has no category to tell: its callback is the status alone.
    planned = ack.model_copy(
        update={"status": AckStatus.PLANNED, "reason": None, "plan": "Visits with Maya weekly"}
    )
    assert set(categories_of(planned).values()) == {None}
    assert "Maya" not in json.dumps(categories_of(planned))


facts = st.builds(
    AnswerFacts,
    ack_message_id=uuids,
    referral_message_id=uuids,
    thread_id=uuids,
    agency=agency_ids,
    status=st.sampled_from([s.value for s in AckStatus]),
    answered_at=st.integers(min_value=0, max_value=2**35),
    notification_id=st.from_regex(r"[A-Z]{3}-[0-9]{4}-[0-9]{6}", fullmatch=True),
    police_reference=st.from_regex(r"[A-Z]{2}/[0-9]{2}/[0-9]{6}", fullmatch=True),
    child_ref=st.from_regex(r"P[0-9]{5}", fullmatch=True),
    reason_category=st.none() | st.sampled_from([c.value for c in AckReasonCategory]),
    outcome_category=st.none() | st.sampled_from([c.value for c in OutcomeCategory]),
    redirected_to=st.none() | agency_ids,
)


@given(facts)
def test_callback_events_round_trip(answer: AnswerFacts) -> None:
    event = callback_event(answer)
    assert event["type"] == f"caselink.referral.{answer.status}"
    assert event["timestamp"].endswith("Z")
    assert len(json.dumps(event)) < 20_000  # Standard Webhooks: thin payloads
    assert callback_answer(json.loads(json.dumps(event))) == answer


def test_a_consents_scope_covers_the_purpose_its_referral_is_sent_for() -> None:
    document = sample_notification(consent=True)
    document["notification_type"] = "information_exchange"
    notification = Notification.model_validate(document)
    [child] = referrals_of(notification, recipient="social-east", today=TODAY, consent_ids=IDS[:1])
    assert child.consent is not None
    # The gateway sends a referral asking no assessment for service provision.
    assert child.referral.requested_service is RequestedService.OTHER
    assert set(child.consent.scope.purposes) == {"service_provision", "safety_planning"}
    [assessed] = mapped(consent=True)
    assert set(assessed.consent.scope.purposes) == {"assessment", "safety_planning"}


def test_the_authorising_officer_is_named_as_their_supervisor_account() -> None:
    officer = {"name": "DS Tom Okafor", "role": "Detective Sergeant", "collar_number": "WP2210"}
    notification = Notification.model_validate(sample_notification(authorised_by=officer))
    supervisors = supervisors_by_collar({"wp2210": "Tom Okafor", "sam": "Sam Reid"})
    [child] = referrals_of(
        notification, recipient="social-east", today=TODAY, consent_ids=IDS[:1],
        supervisors=supervisors,
    )  # fmt: skip
    assert child.referral.authorised_by == Worker(
        name="Tom Okafor", role="Detective Sergeant (WP2210)"
    )
    # No account under that collar number: the name as sent (the gateway then decides).
    [unmatched] = referrals_of(
        notification, recipient="social-east", today=TODAY, consent_ids=IDS[:1],
        supervisors={"sam": "Sam Reid"},
    )  # fmt: skip
    assert unmatched.referral.authorised_by.name == "DS Tom Okafor"
