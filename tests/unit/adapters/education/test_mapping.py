"""A school's row <-> a referral and its consent, both ways; refusals name columns only."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from adapters.education.mapping import Mapped, Refusal, to_referral, to_row
from adapters.education.sample import SAMPLE_URN, sample_row
from schemas.common import Address, Guardian, GuardianRelation, LawfulBasis, Sex, Subject
from schemas.consent import ConsentRelation, DataCategory, Purpose
from schemas.kinds import ConsentStatus, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel
from tests.strategies import names, phones, texts, workers
from tests.unit.adapters.education.helpers import CONSENT_ID, POLICY, SOCIAL, settings

TODAY = date(2025, 2, 3)


def mapped(**cells: str) -> Mapped:
    found = to_referral(sample_row(**cells), settings(), today=TODAY, consent_id=CONSENT_ID)
    assert isinstance(found, Mapped), found
    return found


def refused(**cells: str) -> Refusal:
    found = to_referral(sample_row(**cells), settings(), today=TODAY, consent_id=CONSENT_ID)
    assert isinstance(found, Refusal)
    return found


def test_a_school_row_becomes_a_referral_citing_its_consent() -> None:
    result = mapped()
    referral, consent = result.referral, result.consent
    assert result.recipient == SOCIAL
    assert referral.subject.given_name == "Maya"
    assert referral.subject.birth_date == date(2016, 3, 14)  # DD/MM/YYYY, the school's format
    assert referral.subject.sex is Sex.FEMALE
    assert referral.subject.address == Address(
        lines=["12 Alder Row", "Eastfield"], postal_code="EF1 2AB", country="GB"
    )
    assert referral.subject.guardians == [
        Guardian(
            name="Grace Okafor",
            relation=GuardianRelation.MOTHER,
            phone="+44 7700 900123",
            parental_responsibility=True,
        ),
        Guardian(
            name="Daniel Okafor", relation=GuardianRelation.FATHER, parental_responsibility=True
        ),
    ]
    assert referral.reason_categories == [ReasonCategory.NEGLECT, ReasonCategory.SCHOOL_ABSENCE]
    assert (referral.urgency, referral.risk_level) == (Urgency.HIGH, RiskLevel.HIGH)
    assert referral.requested_service is RequestedService.ASSESSMENT
    assert referral.referring_worker.role == "Designated safeguarding lead"
    assert "UPN: H801200001001" in referral.narrative
    assert "Observed: 2025-02-03 09:15" in referral.narrative
    assert consent is not None
    assert referral.consent_ref == consent.consent_id == CONSENT_ID
    assert referral.lawful_basis is None
    assert consent.status is ConsentStatus.GRANTED
    assert consent.given_by.name == "Grace Okafor"
    assert consent.given_by.relation is ConsentRelation.PARENT
    assert consent.scope.agencies == [SOCIAL]
    assert consent.scope.purposes == [Purpose.ASSESSMENT]
    assert DataCategory.EDUCATION in consent.scope.data_categories
    assert (consent.valid_from, consent.valid_until) == (TODAY, TODAY + timedelta(days=90))
    assert consent.subject == referral.subject


def test_an_unmapped_school_category_is_other_and_kept_in_the_narrative() -> None:
    referral = mapped(categories="Online safety;CSE").referral
    assert referral.reason_categories == [ReasonCategory.OTHER, ReasonCategory.EXPLOITATION]
    assert "School categories: Online safety" in referral.narrative
    extended = settings(categories={"online safety": "exploitation"})
    found = to_referral(
        sample_row(categories="Online safety"), extended, today=TODAY, consent_id=CONSENT_ID
    )
    assert isinstance(found, Mapped)
    assert found.referral.reason_categories == [ReasonCategory.EXPLOITATION]


def test_malformed_rows_name_their_columns_never_their_values() -> None:
    cases = {
        "missing_field": ({"child_surname": ""}, ("child_surname",)),
        "invalid_field": ({"child_dob": "2016-03-14"}, ("child_dob",)),  # not the school's
    }
    for reason, (cells, fields) in cases.items():
        assert refused(**cells) == Refusal(reason, fields)
    assert refused(school_urn="999999") == Refusal("unknown_school", ("school_urn",))
    assert refused(child_upn="H801200001002") == Refusal("invalid_field", ("child_upn",))
    assert refused(carer_relations="mother") == Refusal("invalid_field", ("carer_relations",))
    assert refused(urgency="soon") == Refusal("invalid_field", ("urgency",))
    assert refused(consent="maybe") == Refusal("invalid_field", ("consent",))
    assert refused(consent_by="") == Refusal("missing_field", ("consent_by",))
    assert refused(recorder_phone="call the office") == Refusal(
        "invalid_field", ("recorder_phone",)
    )
    assert refused(child_forename="Ma\x07ya") == Refusal("invalid_field", ("child_forename",))


def test_without_consent_only_under_the_school_policy() -> None:
    refusal_cells = {"consent": "no", "consent_by": "", "consent_by_relation": ""}
    # Routine urgency is outside the policy, whatever the reason.
    assert refused(**refusal_cells, no_consent_reason="Mother refused") == Refusal(
        "consent_refused_at_this_urgency", ("consent", "urgency")
    )
    # Within the policy the row must still give its own reason.
    assert refused(**refusal_cells, urgency="immediate") == Refusal(
        "missing_field", ("no_consent_reason",)
    )
    reason = "Father named by the child as the person who hurt her"
    result = mapped(**refusal_cells, urgency="immediate", no_consent_reason=reason)
    referral = result.referral
    assert result.consent is None
    assert referral.consent_ref is None
    assert referral.lawful_basis is LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    assert referral.authorised_by is not None
    assert referral.authorised_by.name == "sam"
    assert referral.justification is not None
    assert referral.justification.startswith(POLICY)
    assert "Consent: refused" in referral.justification
    assert referral.justification.endswith(reason)
    # No policy in the table: every row without consent is refused.
    bare = settings(without_consent=None)
    found = to_referral(
        sample_row(consent="not_sought", urgency="immediate", no_consent_reason=reason),
        bare,
        today=TODAY,
        consent_id=CONSENT_ID,
    )
    assert found == Refusal("consent_not_sought", ("consent",))


def test_a_json_report_reads_iso_dates_and_arrays() -> None:
    row: dict[str, str | list[str]] = {
        **sample_row(child_dob="2016-03-14", observed_at="2025-02-03T09:15"),
        "carer_names": ["Grace Okafor"],
        "carer_relations": ["mother"],
        "carer_phones": [],
        "carer_parental_responsibility": ["yes"],
        "recorded_at": "",
    }
    found = to_referral(row, settings(), today=TODAY, consent_id=CONSENT_ID, iso_dates=True)
    assert isinstance(found, Mapped)
    assert found.referral.subject.birth_date == date(2016, 3, 14)
    assert [g.name for g in found.referral.subject.guardians] == ["Grace Okafor"]


def test_the_sample_row_comes_back_from_its_referral() -> None:
    extras = (
        "record_id",
        "school_name",
        "child_upn",
        "year_group",
        "child_words",
        "observed_at",
        "location",
        "recorded_at",
        "action_taken",
        "parents_informed",
    )
    plain = sample_row(**dict.fromkeys(extras, ""))
    found = to_referral(plain, settings(), today=TODAY, consent_id=CONSENT_ID)
    assert isinstance(found, Mapped)
    back = to_row(found.referral, found.consent, school_urn=SAMPLE_URN, settings=settings())
    assert back == plain | {
        "categories": "neglect;school_absence",
        "requested_service": "assessment",
        "carer_phones": "+44 7700 900123;",
    }


# Referrals a school's row can say: a birth date, a country-GB address without locality,
# urgencies with the risk a school's word implies, one of the two bases the table allows.
_RISK = {
    Urgency.EMERGENCY: RiskLevel.IMMEDIATE,
    Urgency.HIGH: RiskLevel.HIGH,
    Urgency.NORMAL: RiskLevel.MEDIUM,
}
_one_line = names.filter(lambda s: ";" not in s and s == s.strip())
_free = texts.filter(lambda s: s == s.strip())


@st.composite
def school_referrals(draw: st.DrawFn) -> tuple[Referral, bool]:
    guardians = draw(
        st.lists(
            st.builds(
                Guardian,
                name=_one_line,
                relation=st.sampled_from(GuardianRelation),
                phone=st.none() | phones,
                parental_responsibility=st.booleans(),
            ),
            max_size=2,
        )
    )
    subject = Subject(
        given_name=draw(_one_line),
        family_name=draw(_one_line),
        birth_date=draw(st.dates(date(2005, 1, 1), date(2024, 12, 31))),
        sex=draw(st.sampled_from(Sex)),
        languages=draw(
            st.lists(st.sampled_from(["ar", "pl", "so", "pt-BR"]), unique=True, max_size=2)
        ),
        address=draw(
            st.none()
            | st.builds(
                Address,
                lines=st.lists(_one_line, min_size=1, max_size=3),
                postal_code=st.sampled_from(["EF1 2AB", "N1 9GU"]),
                country=st.just("GB"),
            )
        ),
        guardians=guardians,
    )
    urgency = draw(st.sampled_from(list(_RISK)))
    worker = draw(workers.filter(lambda w: w.name == w.name.strip() and w.role == w.role.strip()))
    with_consent = draw(st.booleans())
    if with_consent:
        basis: dict[str, object] = {"consent_ref": CONSENT_ID}
    else:
        answer = draw(st.sampled_from(["refused", "not sought"]))
        basis = {
            "lawful_basis": LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
            "justification": f"{POLICY}\n\nConsent: {answer}\nReason for this child: "
            + draw(_free),
            "authorised_by": settings().without_consent.authorised_by,  # type: ignore[union-attr]
        }
        urgency = Urgency.EMERGENCY
    referral = Referral.model_validate(
        {
            "subject": subject,
            "reason_categories": draw(
                st.lists(st.sampled_from(ReasonCategory), min_size=1, max_size=3, unique=True)
            ),
            "risk_level": _RISK[urgency],
            "urgency": urgency,
            "requested_service": draw(st.sampled_from(RequestedService)),
            "narrative": draw(_free),
            "referring_worker": worker,
            **basis,
        }
    )
    return referral, with_consent


@hypothesis_settings(max_examples=150, deadline=None)
@given(school_referrals(), st.sampled_from([SAMPLE_URN, "200002"]))
def test_a_referral_survives_the_school_row_round_trip(
    drawn: tuple[Referral, bool], urn: str
) -> None:
    referral, with_consent = drawn
    first = to_referral(
        to_row(referral, None, school_urn=urn, settings=settings())
        if not with_consent
        else {
            **to_row(referral, None, school_urn=urn, settings=settings()),
            "consent": "yes",
            "consent_by": "Grace Okafor",
            "consent_by_relation": "parent",
        },
        settings(),
        today=TODAY,
        consent_id=CONSENT_ID,
    )
    assert isinstance(first, Mapped), first
    assert first.referral == referral
    # And back to a row, consent and all, which maps to the same referral again.
    again = to_row(first.referral, first.consent, school_urn=urn, settings=settings())
    if with_consent:
        assert (again["consent"], again["consent_by"]) == ("yes", "Grace Okafor")
    second = to_referral(again, settings(), today=TODAY, consent_id=CONSENT_ID)
    assert isinstance(second, Mapped)
    assert (second.referral, second.consent) == (first.referral, first.consent)
