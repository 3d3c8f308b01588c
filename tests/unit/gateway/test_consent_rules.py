"""The sending rules, case by case: every refusal, and what passes (pure, no gateway)."""

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from broker.gateway import consent_rules
from broker.gateway.consent_register import record_of
from broker.gateway.consent_rules import (
    CONSENT_BASIS_WITHOUT_CONSENT,
    CONSENT_EXPIRED,
    CONSENT_NOT_GRANTED,
    CONSENT_NOT_RECORDED,
    CONSENT_NOT_YET_VALID,
    CONSENT_WITHDRAWN,
    NOT_AUTHORISED,
    PURPOSE_NOT_COVERED,
    REASONS,
    RECIPIENT_NOT_COVERED,
    WITHDRAWAL_NOT_THROUGH_REGISTER,
    ConsentRefused,
    check_sharing,
    sharing_purpose,
    supervisor_names,
)
from broker.gateway.records import ConsentRecord
from schemas.common import Worker
from schemas.consent import Purpose
from schemas.examples import CONSENT_ID, example_body
from schemas.kinds import AgencyKind, ConsentStatus, LawfulBasis, MessageKind
from schemas.referral import Referral, RequestedService
from schemas.transfer import Transfer
from tests.consents import wide_consent
from tests.gateway_users import make_users

TODAY = date(2026, 12, 3)
SUPERVISORS = supervisor_names(make_users())  # sam


def referral(**changes: Any) -> Referral:
    body = example_body(MessageKind.REFERRAL)
    assert isinstance(body, Referral)
    return body.model_copy(update=changes)


def transfer() -> Transfer:
    body = example_body(MessageKind.TRANSFER)
    assert isinstance(body, Transfer)
    return body


def without_consent(basis: LawfulBasis, authoriser: str) -> Referral:
    return Referral.model_validate(
        referral().model_dump()
        | {
            "consent_ref": None,
            "lawful_basis": basis,
            "justification": "Bruising seen at school; child afraid to go home.",
            "authorised_by": {"name": authoriser, "role": "Team manager"},
        }
    )


def record(**changes: Any) -> ConsentRecord:
    consent = wide_consent(**changes)
    return record_of(consent, sealed=b"sealed", by="ana", at=1.0)


def check(
    body: object,
    consent: ConsentRecord | None,
    *,
    kind: MessageKind = MessageKind.REFERRAL,
    recipient: str = "social-east",
    recipient_kind: AgencyKind | None = AgencyKind.SOCIAL_SERVICES,
) -> None:
    check_sharing(
        body,
        kind=kind,
        recipient=recipient,
        recipient_kind=recipient_kind,
        consent=consent,
        supervisors=SUPERVISORS,
        today=TODAY,
    )


def refused(reason: str, body: object, consent: ConsentRecord | None, **kwargs: Any) -> str:
    with pytest.raises(ConsentRefused) as error:
        check(body, consent, **kwargs)
    assert error.value.reason == reason
    message = str(error.value)
    assert "\n" not in message
    # Ids and categories only: never the child's, the giver's or a worker's name.
    for name in ("Test", "Child", "Parent", "Ines", "ana", "sam"):
        assert name not in message, message
    return message


def test_a_covering_consent_lets_a_referral_go_by_kind_or_by_name() -> None:
    check(referral(), record())
    named = record(agencies=["police-west"], agency_kinds=[])
    check(referral(), named, recipient="police-west", recipient_kind=AgencyKind.POLICE)


def test_an_unrecorded_consent_is_refused() -> None:
    message = refused(CONSENT_NOT_RECORDED, referral(), None)
    assert CONSENT_ID in message


def test_a_withdrawn_consent_is_refused() -> None:
    withdrawn = replace(record(), status=ConsentStatus.WITHDRAWN.value, withdrawn_at=5.0)
    refused(CONSENT_WITHDRAWN, referral(), withdrawn)


def test_a_refused_consent_is_not_a_grant() -> None:
    refused(CONSENT_NOT_GRANTED, referral(), record(status=ConsentStatus.REFUSED))


def test_a_consent_not_yet_valid_is_refused() -> None:
    later = record(valid_from=date(2026, 12, 4), valid_until=date(2027, 12, 4))
    assert "2026-12-04" in refused(CONSENT_NOT_YET_VALID, referral(), later)


def test_an_expired_consent_is_refused_the_day_after_its_end() -> None:
    check(referral(), record(valid_from=date(2025, 1, 1), valid_until=TODAY))  # inclusive
    ended = record(valid_from=date(2025, 1, 1), valid_until=date(2026, 12, 2))
    refused(CONSENT_EXPIRED, referral(), ended)


def test_a_recipient_neither_named_nor_of_a_listed_kind_is_refused() -> None:
    health_only = record(agencies=["oscc-north"], agency_kinds=[AgencyKind.HEALTH])
    message = refused(RECIPIENT_NOT_COVERED, referral(), health_only)
    assert "social-east (social_services)" in message
    # An agency missing from the directory has no kind: only its name could cover it.
    refused(RECIPIENT_NOT_COVERED, referral(), health_only, recipient_kind=None)


def test_a_purpose_outside_the_consent_is_refused() -> None:
    assessment_only = record(purposes=[Purpose.ASSESSMENT])
    check(referral(requested_service=RequestedService.ASSESSMENT), assessment_only)
    counselling = referral(requested_service=RequestedService.COUNSELLING)
    message = refused(PURPOSE_NOT_COVERED, counselling, assessment_only)
    assert "service_provision" in message
    refused(PURPOSE_NOT_COVERED, transfer(), assessment_only, kind=MessageKind.TRANSFER)


def test_the_purpose_comes_from_the_message() -> None:
    assessment = referral(requested_service=RequestedService.ASSESSMENT)
    assert sharing_purpose(MessageKind.REFERRAL, assessment) is Purpose.ASSESSMENT
    counselling = referral(requested_service=RequestedService.COUNSELLING)
    assert sharing_purpose(MessageKind.REFERRAL, counselling) is Purpose.SERVICE_PROVISION
    assert sharing_purpose(MessageKind.TRANSFER, transfer()) is Purpose.CASE_TRANSFER


def test_a_lawful_basis_authorised_by_a_supervisor_goes_without_consent() -> None:
    check(without_consent(LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM, "sam"), None)
    check(without_consent(LawfulBasis.VITAL_INTERESTS, "sam"), None)


def test_a_supervisor_is_known_by_sign_in_or_display_name() -> None:
    users = make_users()
    assert {"sam"} <= supervisor_names(users)
    assert "ana" not in supervisor_names(users)  # a caseworker
    assert "Ana Lopes" not in supervisor_names(users)
    assert "case-system" not in supervisor_names(users)


def test_a_lawful_basis_not_authorised_by_a_supervisor_is_refused() -> None:
    basis = LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    for authoriser in ("ana", "Ana Lopes", "case-system", "Somebody Else"):
        message = refused(NOT_AUTHORISED, without_consent(basis, authoriser), None)
        assert "child_protection_significant_harm" in message


def test_the_lawful_basis_consent_must_cite_the_consent() -> None:
    refused(CONSENT_BASIS_WITHOUT_CONSENT, without_consent(LawfulBasis.CONSENT, "sam"), None)


def test_acknowledgements_pass_untouched() -> None:
    check(example_body(MessageKind.ACKNOWLEDGEMENT), None, kind=MessageKind.ACKNOWLEDGEMENT)


def test_a_consent_message_goes_only_to_an_agency_its_scope_covers() -> None:
    notice = wide_consent(agencies=["social-east"], agency_kinds=[])
    check(notice, None, kind=MessageKind.CONSENT)
    refused(
        RECIPIENT_NOT_COVERED,
        notice,
        None,
        kind=MessageKind.CONSENT,
        recipient="police-west",
        recipient_kind=AgencyKind.POLICE,
    )


def test_a_withdrawal_sent_by_hand_is_refused_for_the_register() -> None:
    notice = wide_consent(status=ConsentStatus.WITHDRAWN, withdrawn_at=1_800_000_000)
    message = refused(WITHDRAWAL_NOT_THROUGH_REGISTER, notice, None, kind=MessageKind.CONSENT)
    assert "/withdraw" in message


def test_every_refusal_reason_has_its_test() -> None:
    # Read from this file, so that it holds however the tests are selected.
    source = Path(__file__).read_text()
    names = vars(consent_rules).items()
    constants = {v: name for name, v in names if isinstance(v, str) and v in REASONS}
    assert set(constants) == REASONS
    for name in constants.values():
        assert f"refused({name}," in source, name


def test_worker_names_are_free_text_so_none_is_repeated() -> None:
    odd = Worker(name="sam\u200b", role="x")  # looks like sam, is not sam
    body = without_consent(LawfulBasis.PUBLIC_TASK, "sam").model_copy(update={"authorised_by": odd})
    refused(NOT_AUTHORISED, body, None)
