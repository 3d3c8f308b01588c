"""Each cross-field rule is enforced in both directions."""

from typing import Any

import pytest

from schemas.kinds import AckStatus, MessageKind
from tests.unit.schemas.payloads import accepts, payload, rejects

REFERRAL, TRANSFER = MessageKind.REFERRAL, MessageKind.TRANSFER
CONSENT, ACK, ALERT = MessageKind.CONSENT, MessageKind.ACKNOWLEDGEMENT, MessageKind.ALERT
WORKER = {"name": "Test Manager", "role": "Team manager"}
LAWFUL = {
    "consent_ref": None,
    "lawful_basis": "child_protection_significant_harm",
    "justification": "Synthetic: risk of significant harm if the family is told first.",
    "authorised_by": WORKER,
}


# Referral and transfer: exactly one of consent_ref and lawful_basis.


@pytest.mark.parametrize("kind", [REFERRAL, TRANSFER])
def test_lawful_basis_instead_of_consent_is_accepted(kind: MessageKind) -> None:
    accepts(kind, payload(kind, **LAWFUL))


@pytest.mark.parametrize("kind", [REFERRAL, TRANSFER])
def test_both_consent_and_lawful_basis_are_refused(kind: MessageKind) -> None:
    both = LAWFUL | {"consent_ref": "00000000-0000-4000-8000-000000000009"}
    rejects(kind, payload(kind, **both), "exactly one of consent_ref and lawful_basis")


@pytest.mark.parametrize("kind", [REFERRAL, TRANSFER])
def test_neither_consent_nor_lawful_basis_is_refused(kind: MessageKind) -> None:
    rejects(kind, payload(kind, consent_ref=None), "exactly one of consent_ref and lawful_basis")


@pytest.mark.parametrize("missing", ["justification", "authorised_by"])
def test_lawful_basis_needs_justification_and_authoriser(missing: str) -> None:
    rejects(REFERRAL, payload(REFERRAL, **(LAWFUL | {missing: None})), missing)


def test_justification_without_lawful_basis_is_refused() -> None:
    rejects(REFERRAL, payload(REFERRAL, justification="Because."), "justification")


def test_consent_ref_must_be_a_uuid4() -> None:
    rejects(REFERRAL, payload(REFERRAL, consent_ref="case-2024-0042"), "consent_ref")


def test_reason_categories_are_non_empty_and_distinct() -> None:
    rejects(REFERRAL, payload(REFERRAL, reason_categories=[]), "at least 1")
    rejects(REFERRAL, payload(REFERRAL, reason_categories=["neglect", "neglect"]), "repeat")


def test_transfer_reason_other_needs_detail() -> None:
    rejects(TRANSFER, payload(TRANSFER, reason="other"), "reason_detail")
    accepts(TRANSFER, payload(TRANSFER, reason="other", reason_detail="Synthetic detail."))


# Subject: birth date XOR estimated age.


def _subject(**changes: Any) -> dict[str, Any]:
    data = payload(REFERRAL)
    data["subject"] |= changes
    return data


def test_estimated_age_instead_of_birth_date_is_accepted() -> None:
    accepts(REFERRAL, _subject(birth_date=None, estimated_age_years=9))


def test_birth_date_and_estimated_age_together_are_refused() -> None:
    rejects(REFERRAL, _subject(estimated_age_years=9), "exactly one of birth_date")


def test_neither_birth_date_nor_estimated_age_is_refused() -> None:
    rejects(REFERRAL, _subject(birth_date=None), "exactly one of birth_date")


def test_estimated_age_is_bounded() -> None:
    rejects(REFERRAL, _subject(birth_date=None, estimated_age_years=-1), "estimated_age")
    rejects(REFERRAL, _subject(birth_date=None, estimated_age_years=26), "estimated_age")


# Consent.


def test_valid_until_must_follow_valid_from() -> None:
    rejects(CONSENT, payload(CONSENT, valid_until="2025-01-01"), "valid_until must be after")
    rejects(CONSENT, payload(CONSENT, valid_until="2024-12-31"), "valid_until must be after")
    accepts(CONSENT, payload(CONSENT, valid_until="2025-01-02"))


def test_withdrawn_needs_withdrawn_at() -> None:
    rejects(CONSENT, payload(CONSENT, status="withdrawn"), "withdrawn_at")
    accepts(CONSENT, payload(CONSENT, status="withdrawn", withdrawn_at=1_750_000_000))


def test_withdrawn_at_only_when_withdrawn() -> None:
    rejects(CONSENT, payload(CONSENT, withdrawn_at=1_750_000_000), "withdrawn_at")


def test_scope_names_at_least_one_agency_or_kind() -> None:
    data = payload(CONSENT)
    data["scope"] |= {"agencies": [], "agency_kinds": []}
    rejects(CONSENT, data, "at least one agency or agency kind")
    data["scope"] |= {"agencies": ["test-hospital"]}
    accepts(CONSENT, data)


@pytest.mark.parametrize("field", ["purposes", "data_categories"])
def test_scope_needs_purposes_and_data_categories(field: str) -> None:
    data = payload(CONSENT)
    data["scope"][field] = []
    rejects(CONSENT, data, field)


@pytest.mark.parametrize(
    "giver",
    [
        {"name": "Test Parent"},
        {"relation": "parent"},
        {"name": "Test Parent", "relation": "parent", "court_order": True},
        {"court_order": False},
    ],
)
def test_consent_is_given_by_a_person_or_a_court_order(giver: dict[str, Any]) -> None:
    rejects(CONSENT, payload(CONSENT, given_by=giver), "name and relation, or court_order")


def test_court_order_consent_is_accepted() -> None:
    accepts(CONSENT, payload(CONSENT, given_by={"court_order": True}))


# Acknowledgement.


def _ack(status: AckStatus, **changes: Any) -> dict[str, Any]:
    return payload(ACK, status=status.value, outcome=None) | changes


@pytest.mark.parametrize("status", [AckStatus.DECLINED, AckStatus.REDIRECTED])
def test_declined_and_redirected_need_a_reason(status: AckStatus) -> None:
    extra = {"redirected_to": "test-hospital"} if status is AckStatus.REDIRECTED else {}
    rejects(ACK, _ack(status, **extra), "needs a reason")
    accepts(ACK, _ack(status, reason={"category": "outside_remit"}, **extra))


def test_redirected_needs_redirected_to() -> None:
    rejects(ACK, _ack(AckStatus.REDIRECTED, reason={"category": "other"}), "redirected_to")


def test_redirected_to_only_when_redirected() -> None:
    data = _ack(AckStatus.DECLINED, reason={"category": "other"}, redirected_to="test-hospital")
    rejects(ACK, data, "redirected_to")


def test_completed_needs_an_outcome() -> None:
    rejects(ACK, _ack(AckStatus.COMPLETED), "outcome")


def test_outcome_only_when_completed() -> None:
    rejects(ACK, _ack(AckStatus.ACCEPTED, outcome={"category": "referred_on"}), "outcome")


PLAN = "Synthetic: weekly home visits for six weeks; review at the team meeting."


def test_planned_needs_its_plan() -> None:
    rejects(ACK, _ack(AckStatus.PLANNED), "plan is set exactly when status is planned")
    accepts(ACK, _ack(AckStatus.PLANNED, plan=PLAN))


@pytest.mark.parametrize("status", [AckStatus.ACCEPTED, AckStatus.RECEIVED])
def test_plan_only_when_planned(status: AckStatus) -> None:
    rejects(ACK, _ack(status, plan=PLAN), "plan is set exactly when status is planned")


def test_completed_carries_no_plan() -> None:
    data = _ack(AckStatus.COMPLETED, outcome={"category": "service_provided"}, plan=PLAN)
    rejects(ACK, data, "plan")


def test_planned_carries_no_outcome() -> None:
    rejects(ACK, _ack(AckStatus.PLANNED, plan=PLAN, outcome={"category": "other"}), "outcome")


@pytest.mark.parametrize("plan", ["", "   ", "x" * 2_001, "a\x00b"])
def test_the_plan_is_bounded_text(plan: str) -> None:
    rejects(ACK, _ack(AckStatus.PLANNED, plan=plan), "plan")


def test_only_received_may_omit_the_responder() -> None:
    accepts(ACK, _ack(AckStatus.RECEIVED, responded_by=None))
    rejects(ACK, _ack(AckStatus.ACCEPTED, responded_by=None), "responded_by")


def test_answers_must_be_a_message_id() -> None:
    rejects(ACK, payload(ACK, answers="not-a-uuid"), "answers")


# Alert: ids and categories only.


def test_overdue_alert_carries_its_deadline() -> None:
    rejects(ALERT, payload(ALERT, deadline=None), "deadline and overdue_seconds")
    rejects(ALERT, payload(ALERT, overdue_seconds=None), "deadline and overdue_seconds")
    accepts(ALERT, payload(ALERT, reason="refused_envelope", deadline=None, overdue_seconds=None))


def test_alert_has_no_free_text() -> None:
    rejects(ALERT, payload(ALERT, note="Test Child is at risk"), "Extra inputs")
    rejects(ALERT, payload(ALERT, reason="Test Child is at risk"), "reason")
