"""Hypothesis strategies for valid message bodies, small enough to keep property tests fast.

`body_strategy(kind)` draws valid bodies of one kind; `any_kind_and_body()` draws a kind
with a matching body. Texts are short, lists hold a few items, attachments a few bytes:
the size limits have their own example-based tests.
"""

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st
from pydantic import BaseModel

from schemas.acknowledgement import (
    Acknowledgement,
    AckReason,
    AckReasonCategory,
    Outcome,
    OutcomeCategory,
)
from schemas.alert import OVERDUE_REASONS, Alert, AlertLevel, AlertReason
from schemas.common import (
    Address,
    Attachment,
    Guardian,
    GuardianRelation,
    LawfulBasis,
    Sex,
    Subject,
    Worker,
)
from schemas.consent import (
    Consent,
    ConsentGiver,
    ConsentRelation,
    ConsentScope,
    DataCategory,
    Purpose,
)
from schemas.ids import AGENCY_ID_PATTERN
from schemas.kinds import AckStatus, AgencyKind, ConsentStatus, MessageKind, Urgency
from schemas.referral import ReasonCategory, Referral, RequestedService, RiskLevel
from schemas.transfer import Assessment, CasePlan, Goal, GoalStatus, Transfer, TransferReason

# Letters, digits, punctuation, symbols and spaces: no control characters, no surrogates.
_LINE_CHARS = st.characters(categories=["L", "N", "P", "S", "Zs"])
_FREE_CHARS = st.one_of(_LINE_CHARS, st.sampled_from("\n\t"))


def _text(chars: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    # The schemas refuse blank text; str.strip() agrees with their \S on these characters.
    return st.text(chars, min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


names = _text(_LINE_CHARS, 12)
texts = _text(_FREE_CHARS, 30)
uuids = st.uuids(version=4).map(str)
agency_ids = st.from_regex(AGENCY_ID_PATTERN, fullmatch=True)
unix_seconds = st.integers(min_value=0, max_value=2**40 - 1)
dates = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
phones = st.from_regex(r"\+?[0-9]{3,15}", fullmatch=True)
emails = st.from_regex(r"[a-z0-9.]{1,8}@[a-z0-9]{1,8}\.example", fullmatch=True)
languages = st.sampled_from(["en", "ar", "so", "uk", "pt-BR", "zh-Hant-TW", "fil"])


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


def _unique_list(strategy: st.SearchStrategy[Any], min_size: int, max_size: int) -> Any:
    return st.lists(strategy, min_size=min_size, max_size=max_size, unique=True)


workers = st.builds(Worker, name=names, role=names, phone=_maybe(phones), email=_maybe(emails))

addresses = st.builds(
    Address,
    lines=st.lists(names, max_size=2),
    locality=_maybe(names),
    region=_maybe(names),
    postal_code=_maybe(st.from_regex(r"[A-Z0-9]{2,4} ?[A-Z0-9]{3}", fullmatch=True)),
    country=st.from_regex(r"[A-Z]{2}", fullmatch=True),
)

guardians = st.builds(
    Guardian,
    name=names,
    relation=st.sampled_from(GuardianRelation),
    phone=_maybe(phones),
    email=_maybe(emails),
    parental_responsibility=st.booleans(),
)

attachments = st.builds(
    Attachment,
    content_type=st.sampled_from(["application/pdf", "image/jpeg", "text/plain"]),
    filename=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,12}", fullmatch=True),
    description=_maybe(texts),
    data=st.binary(max_size=48),
)


@st.composite
def subjects(draw: st.DrawFn) -> Subject:
    """A child with exactly one of birth date and estimated age."""
    known_birth_date = draw(st.booleans())
    return Subject(
        given_name=draw(names),
        family_name=draw(names),
        other_names=draw(st.lists(names, max_size=2)),
        birth_date=draw(dates) if known_birth_date else None,
        estimated_age_years=None if known_birth_date else draw(st.integers(0, 25)),
        sex=draw(st.sampled_from(Sex)),
        languages=draw(_unique_list(languages, 0, 3)),
        address=draw(_maybe(addresses)),
        guardians=draw(st.lists(guardians, max_size=2)),
    )


@st.composite
def sharing_bases(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments for a consent reference or for a lawful basis with its owner."""
    if draw(st.booleans()):
        return {"consent_ref": draw(uuids)}
    return {
        "lawful_basis": draw(st.sampled_from(LawfulBasis)),
        "justification": draw(texts),
        "authorised_by": draw(workers),
    }


@st.composite
def referrals(draw: st.DrawFn) -> Referral:
    return Referral(
        subject=draw(subjects()),
        reason_categories=draw(_unique_list(st.sampled_from(ReasonCategory), 1, 3)),
        risk_level=draw(st.sampled_from(RiskLevel)),
        urgency=draw(st.sampled_from(Urgency)),
        requested_service=draw(st.sampled_from(RequestedService)),
        requested_service_detail=draw(_maybe(texts)),
        narrative=draw(texts),
        referring_worker=draw(workers),
        attachments=draw(st.lists(attachments, max_size=2)),
        **draw(sharing_bases()),
    )


_goals = st.builds(
    Goal, description=texts, target_date=_maybe(dates), status=st.sampled_from(GoalStatus)
)
_assessments = st.builds(Assessment, type=names, date=dates, summary=texts)


@st.composite
def transfers(draw: st.DrawFn) -> Transfer:
    reason = draw(st.sampled_from(TransferReason))
    detail = texts if reason is TransferReason.OTHER else _maybe(texts)
    return Transfer(
        subject=draw(subjects()),
        case_summary=draw(texts),
        assessments=draw(st.lists(_assessments, max_size=2)),
        case_plan=draw(_maybe(st.builds(CasePlan, goals=st.lists(_goals, max_size=2)))),
        reason=reason,
        reason_detail=draw(detail),
        transferring_worker=draw(workers),
        receiving_worker=draw(_maybe(workers)),
        attachments=draw(st.lists(attachments, max_size=2)),
        **draw(sharing_bases()),
    )


_givers = st.builds(ConsentGiver, name=names, relation=st.sampled_from(ConsentRelation)) | st.just(
    ConsentGiver(court_order=True)
)


@st.composite
def consent_scopes(draw: st.DrawFn) -> ConsentScope:
    agencies = draw(_unique_list(agency_ids, 0, 3))
    kinds = draw(_unique_list(st.sampled_from(AgencyKind), 0 if agencies else 1, 3))
    return ConsentScope(
        agencies=agencies,
        agency_kinds=kinds,
        purposes=draw(_unique_list(st.sampled_from(Purpose), 1, 3)),
        data_categories=draw(_unique_list(st.sampled_from(DataCategory), 1, 3)),
    )


@st.composite
def consents(draw: st.DrawFn) -> Consent:
    valid_from = draw(dates)
    status = draw(st.sampled_from(ConsentStatus))
    return Consent(
        consent_id=draw(uuids),
        subject=draw(subjects()),
        given_by=draw(_givers),
        scope=draw(consent_scopes()),
        valid_from=valid_from,
        valid_until=valid_from + timedelta(days=draw(st.integers(1, 3660))),
        status=status,
        withdrawn_at=draw(unix_seconds) if status is ConsentStatus.WITHDRAWN else None,
        recorded_by=draw(workers),
    )


_reasons = st.builds(AckReason, category=st.sampled_from(AckReasonCategory), text=_maybe(texts))
_outcomes = st.builds(Outcome, category=st.sampled_from(OutcomeCategory), text=_maybe(texts))


@st.composite
def acknowledgements(draw: st.DrawFn) -> Acknowledgement:
    status = draw(st.sampled_from(AckStatus))
    needs_reason = status in (AckStatus.DECLINED, AckStatus.REDIRECTED)
    return Acknowledgement(
        status=status,
        answers=draw(uuids),
        reason=draw(_reasons if needs_reason else _maybe(_reasons)),
        redirected_to=draw(agency_ids) if status is AckStatus.REDIRECTED else None,
        outcome=draw(_outcomes) if status is AckStatus.COMPLETED else None,
        plan=draw(texts) if status is AckStatus.PLANNED else None,
        responded_by=draw(_maybe(workers) if status is AckStatus.RECEIVED else workers),
        note=draw(_maybe(texts)),
    )


@st.composite
def alerts(draw: st.DrawFn) -> Alert:
    reason = draw(st.sampled_from(AlertReason))
    overdue = reason in OVERDUE_REASONS
    return Alert(
        alert_id=draw(uuids),
        level=draw(st.sampled_from(AlertLevel)),
        reason=reason,
        agency=draw(agency_ids),
        thread_id=draw(_maybe(uuids)),
        message_id=draw(_maybe(uuids)),
        kind=draw(_maybe(st.sampled_from(MessageKind))),
        sender=draw(_maybe(agency_ids)),
        recipient=draw(_maybe(agency_ids)),
        raised_at=draw(unix_seconds),
        deadline=draw(unix_seconds if overdue else _maybe(unix_seconds)),
        overdue_seconds=draw(unix_seconds if overdue else _maybe(unix_seconds)),
    )


_BODIES: dict[MessageKind, st.SearchStrategy[Any]] = {
    MessageKind.REFERRAL: referrals(),
    MessageKind.TRANSFER: transfers(),
    MessageKind.CONSENT: consents(),
    MessageKind.ACKNOWLEDGEMENT: acknowledgements(),
    MessageKind.ALERT: alerts(),
}


def body_strategy(kind: MessageKind) -> st.SearchStrategy[BaseModel]:
    """Valid bodies of `kind`; raises KeyError for a kind without a body model."""
    return _BODIES[kind]


def any_kind_and_body() -> st.SearchStrategy[tuple[MessageKind, BaseModel]]:
    """A message kind together with a valid body of that kind."""
    return st.sampled_from(MessageKind).flatmap(
        lambda kind: body_strategy(kind).map(lambda body: (kind, body))
    )
