"""Primero's case fields, requests and statuses to Caselink's bodies and back (pure)."""

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.social.cases import CaseFields, case_fields, fields_of, subject_of
from adapters.social.consent import consent_id_of, consent_of, override
from adapters.social.errors import PrimeroError
from adapters.social.sample import sample_case
from adapters.social.transitions import (
    DEFAULT_SERVICES,
    PatchRequest,
    Status,
    TransitionRequest,
    answer_of,
    primero_service,
    recipient_of,
    referral_of,
    rejected_reason_of,
    status_of_stage,
    status_of_state,
    transfer_of,
)
from broker.gateway.consent_rules import supervisor_names
from broker.gateway.records import InboxState
from broker.lifecycle import Stage
from schemas.acknowledgement import AckReasonCategory
from schemas.common import LawfulBasis, Sex, SharingBasis, Subject, Worker
from schemas.consent import ConsentRelation, Purpose
from schemas.ids import UUID4_PATTERN
from schemas.kinds import AckStatus, MessageKind, Urgency
from schemas.referral import ReasonCategory, RequestedService
from tests.gateway_users import make_users
from tests.strategies import dates, names

WORKER = Worker(name="Ana Lopes", role="Duty social worker")
TODAY = date(2025, 3, 1)


def fields(**extra: object) -> CaseFields:
    return case_fields({**sample_case()["data"], **extra})


@given(
    first=names,
    last=names,
    middle=st.none() | names,
    sex=st.sampled_from(Sex),
    born=st.none() | dates.filter(lambda d: d <= TODAY),
    age=st.integers(0, 25),
)
def test_a_subject_round_trips_through_case_fields(
    first: str, last: str, middle: str | None, sex: Sex, born: date | None, age: int
) -> None:
    subject = Subject(
        given_name=first,
        family_name=last,
        other_names=[middle] if middle else [],
        birth_date=born,
        estimated_age_years=None if born else age,
        sex=sex,
    )
    assert subject_of(fields_of(subject, TODAY)) == subject


def test_case_fields_map_to_the_child() -> None:
    subject = subject_of(fields())
    assert (subject.given_name, subject.family_name) == ("Test", "Child")
    assert subject.birth_date == date(2015, 6, 1)
    assert subject.sex is Sex.FEMALE
    shown = fields_of(subject, TODAY)
    assert (shown.name, shown.age, shown.estimated) == ("Test Child", 9, False)


def test_an_age_alone_is_an_estimate_and_a_full_name_splits() -> None:
    subject = subject_of(case_fields({"name": "Amina B. Yusuf", "age": 11}))
    assert (subject.given_name, subject.family_name) == ("Amina", "Yusuf")
    assert (subject.birth_date, subject.estimated_age_years, subject.sex) == (None, 11, Sex.UNKNOWN)


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"name_last": "Child", "age": 3}, "name_first"),
        ({"name_first": "Test", "name_last": "Child"}, "date_of_birth"),
        ({"name_first": "Test", "name_last": "Child", "age": 40}, "age"),
        ({"name_first": "A\x00", "name_last": "Child", "age": 3}, "name_first"),
    ],
)
def test_a_case_that_names_no_child_is_refused_naming_the_field(
    data: dict[str, object], detail: str
) -> None:
    with pytest.raises(PrimeroError) as caught:
        subject_of(case_fields(data))
    assert (caught.value.status, caught.value.detail) == (422, detail)
    assert "Child" not in str(caught.value)


def test_a_referral_takes_risk_concerns_service_and_notes() -> None:
    consent = consent_of(
        fields(),
        kind=MessageKind.REFERRAL,
        purpose=Purpose.SERVICE_PROVISION,
        recipient="social-west",
        consent_id="00000000-0000-4000-8000-00000000000a",
        today=TODAY,
        valid_days=30,
        by=WORKER,
    )
    request = TransitionRequest(
        transitioned_to="social-west", service="psychosocial_service", notes="Needs help."
    )
    referral = referral_of(
        fields(urgent_protection_concern=True),
        request,
        basis=consent_basis(consent.consent_id),
        by=WORKER,
        services=DEFAULT_SERVICES,
    )
    assert referral.reason_categories == [ReasonCategory.NEGLECT, ReasonCategory.SCHOOL_ABSENCE]
    assert referral.urgency is Urgency.EMERGENCY
    assert referral.narrative == "Needs help."
    assert referral.requested_service is RequestedService.COUNSELLING
    assert referral.consent_ref == consent.consent_id
    assert consent.scope.agencies == ["social-west"]
    assert consent.scope.purposes == [Purpose.SERVICE_PROVISION]
    assert consent.given_by.relation is ConsentRelation.PARENT
    assert (consent.valid_from, consent.valid_until) == (TODAY, date(2025, 3, 31))


def consent_basis(consent_id: str) -> SharingBasis:
    return SharingBasis(consent_ref=consent_id)


def test_an_unknown_service_is_other_with_its_id_and_shows_back() -> None:
    request = TransitionRequest(transitioned_to="social-west", service="cash_transfer", notes="n")
    basis = override("n", supervisor=True, by=WORKER)
    referral = referral_of(fields(), request, basis=basis, by=WORKER, services=DEFAULT_SERVICES)
    assert (referral.requested_service, referral.requested_service_detail) == (
        RequestedService.OTHER,
        "cash_transfer",
    )
    assert (
        primero_service(referral.requested_service, referral.requested_service_detail)
        == "cash_transfer"
    )
    assert referral.lawful_basis is LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    assert referral.authorised_by == WORKER


def test_referral_and_transfer_need_what_caselink_needs() -> None:
    basis = override("n", supervisor=True, by=WORKER)
    bare = TransitionRequest(transitioned_to="social-west")
    with pytest.raises(PrimeroError, match="notes"):
        referral_of(fields(), bare, basis=basis, by=WORKER, services={})
    with pytest.raises(PrimeroError, match="risk_level"):
        referral_of(
            fields(risk_level=None),
            TransitionRequest(notes="n"),
            basis=basis,
            by=WORKER,
            services={},
        )
    transfer = transfer_of(fields(), TransitionRequest(notes="Moved."), basis=basis, by=WORKER)
    assert transfer.reason_detail is not None
    assert transfer.case_summary == "Moved."


def test_consent_rules() -> None:
    def consent(kind: MessageKind, **flags: object) -> object:
        return consent_of(
            fields(**flags),
            kind=kind,
            purpose=Purpose.CASE_TRANSFER,
            recipient="social-west",
            consent_id="00000000-0000-4000-8000-00000000000a",
            today=TODAY,
            valid_days=1,
            by=WORKER,
        )

    with pytest.raises(PrimeroError) as caught:
        consent(MessageKind.REFERRAL, consent_for_services=False)
    assert (caught.value.status, caught.value.detail) == (422, "consent")
    # A transfer needs disclosure to other organisations only.
    assert consent(MessageKind.TRANSFER, consent_for_services=False)
    with pytest.raises(PrimeroError, match="consent"):
        consent(MessageKind.TRANSFER, disclosure_other_orgs=False)
    with pytest.raises(PrimeroError) as refused:
        override("n", supervisor=False, by=WORKER)
    assert refused.value.detail == "consent"


def test_recipients_are_agencies() -> None:
    assert recipient_of(TransitionRequest(transitioned_to_agency="social-west")) == "social-west"
    assert recipient_of(TransitionRequest(transitioned_to="social-west")) == "social-west"
    for request in (
        TransitionRequest(transitioned_to="Ana Lopes"),
        TransitionRequest(),
        TransitionRequest(transitioned_to="social-west", remote=True),
    ):
        with pytest.raises(PrimeroError):
            recipient_of(request)


def test_patch_statuses_become_acknowledgements() -> None:
    rid = "00000000-0000-4000-8000-00000000000b"
    accepted = answer_of(MessageKind.REFERRAL, PatchRequest(status="accepted"), rid, WORKER)
    assert (accepted.status, accepted.answers) == (AckStatus.ACCEPTED, rid)
    rejected = answer_of(
        MessageKind.TRANSFER,
        PatchRequest(status="rejected", rejected_reason="no_capacity"),
        rid,
        WORKER,
    )
    assert rejected.reason is not None
    assert rejected.reason.category is AckReasonCategory.NO_CAPACITY
    free = answer_of(
        MessageKind.REFERRAL, PatchRequest(status="rejected", rejected_reason="Full."), rid, WORKER
    )
    assert rejected_reason_of(free.reason) == "Full."
    done = answer_of(
        MessageKind.REFERRAL, PatchRequest(status="done", rejection_note="Held."), rid, WORKER
    )
    assert done.status is AckStatus.COMPLETED
    assert done.outcome is not None
    for kind, status in (
        (MessageKind.TRANSFER, "done"),
        (MessageKind.REFERRAL, "revoked"),
        (MessageKind.REFERRAL, "x"),
    ):
        with pytest.raises(PrimeroError) as caught:
            answer_of(kind, PatchRequest(status=status), rid, WORKER)
        assert caught.value.detail == "status"


def test_statuses_show_as_primeros() -> None:
    assert status_of_stage(None) is Status.IN_PROGRESS
    assert {status_of_stage(stage) for stage in Stage} == set(Status)
    assert status_of_state(InboxState.NEW) is Status.IN_PROGRESS
    assert status_of_state(InboxState.REDIRECTED) is Status.REJECTED
    assert status_of_state(InboxState.COMPLETED) is Status.DONE
    # Primero has no plan status: a plan recorded is still an accepted transition, not done.
    assert status_of_state(InboxState.PLANNED) is Status.ACCEPTED
    assert status_of_state(InboxState.WITHDRAWN) is Status.REVOKED


def test_a_case_consent_id_is_the_same_for_the_same_case_recipient_purpose_and_day() -> None:
    case = "00000000-0000-4000-8000-0000000000c1"
    one = consent_id_of(case, "social-west", Purpose.SERVICE_PROVISION, TODAY)
    assert one == consent_id_of(case, "social-west", Purpose.SERVICE_PROVISION, TODAY)
    assert re.fullmatch(UUID4_PATTERN, one)
    others = {
        consent_id_of(case, "social-west", Purpose.ASSESSMENT, TODAY),
        consent_id_of(case, "social-east", Purpose.SERVICE_PROVISION, TODAY),
        consent_id_of(case, "social-west", Purpose.SERVICE_PROVISION, date(2025, 3, 2)),
        consent_id_of(
            "00000000-0000-4000-8000-0000000000c2", "social-west", Purpose.SERVICE_PROVISION, TODAY
        ),
    }
    assert one not in others
    assert len(others) == 4


def test_an_override_is_authorised_under_a_name_the_gateway_takes_for_a_supervisor() -> None:
    users = make_users()
    basis = override("Danger tonight.", supervisor=True, by=users["sam"].worker)
    assert basis.authorised_by is not None
    assert basis.authorised_by.name in supervisor_names(users)
