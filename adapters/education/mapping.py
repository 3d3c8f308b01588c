"""A school's report of concern <-> a Caselink referral (and the consent it cites). Pure.

`to_referral` reads one row (CSV cells, or a JSON report with the same keys) and gives the
referral, the consent record to register first when the row says consent was given, and the
recipient; or a `Refusal` naming a category and the columns at fault, never their values.

Where Caselink differs from the school's record:
- the narrative is one text: the description, then the school's other free-text columns
  (child's words, action taken, ...) under labels, and the identifiers Caselink's subject
  has no field for (UPN, national id, the school's record id);
- urgency is the school's word; the risk level is the one it implies (immediate, high,
  medium); `low` urgency is written back as `routine`;
- a consent is valid from the day it is first recorded for `consent_valid_days`, for the
  recipient this row goes to alone, for the table's purposes and data categories (the
  gateway refuses a referral whose purpose those do not name: `purpose_not_covered`).

`to_row` writes a referral back as a row; a referral whose narrative came from one
`description` (other text columns empty) comes back unchanged.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from pydantic import ValidationError

from adapters.education.columns import COLUMNS, REQUIRED, Row, joined, many, one
from adapters.education.settings import EducationSettings, SchoolSettings
from adapters.education.upn import is_upn
from adapters.education.vocabulary import (
    CONSENT_ANSWERS,
    CONSENT_RELATIONS,
    RELATIONS,
    SCHOOL_URGENCY,
    SEX,
    URGENCY_WORD,
    YES_NO,
    category_of,
)
from schemas.common import LawfulBasis, Subject, Worker
from schemas.consent import Consent, ConsentGiver, ConsentScope
from schemas.field_errors import field_errors
from schemas.kinds import ConsentStatus
from schemas.referral import Referral, RequestedService

V = TypeVar("V")

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$")

# Canonical paths a validation error may name, shown to the school as its own columns.
_COLUMN_OF = {
    "subject.given_name": "child_forename",
    "subject.family_name": "child_surname",
    "subject.address": "address",
    "subject.address.lines": "address",
    "subject.address.postal_code": "postcode",
    "subject.guardians": "carer_names",
    "subject.guardians.name": "carer_names",
    "subject.guardians.phone": "carer_phones",
    "subject.birth_date": "child_dob",
    "subject.languages": "interpreter_language",
    "narrative": "description",
    "referring_worker.name": "recorded_by",
    "referring_worker.role": "recorder_role",
    "referring_worker.phone": "recorder_phone",
    "referring_worker.email": "recorder_email",
    "given_by.name": "consent_by",
    "justification": "no_consent_reason",
}

# Labelled columns added to the narrative after the description, in this order.
_NARRATIVE_LABELS = (
    ("record_id", "School record"),
    ("school_name", "School"),
    ("child_upn", "UPN"),
    ("child_national_id", "National id"),
    ("year_group", "Year group"),
    ("child_words", "Child's words"),
    ("observed_at", "Observed"),
    ("location", "Location"),
    ("recorded_at", "Recorded"),
    ("action_taken", "Action taken"),
    ("parents_informed", "Parents informed"),
    ("not_informed_reason", "Why not informed"),
    ("linked_children", "Linked children"),
    ("notes", "Notes"),
)


@dataclass(frozen=True)
class Refusal:
    """Why a row is not sent: a category and the columns at fault (names, never values)."""

    reason: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mapped:
    """A row ready to send: the consent to record first (if given), then the referral."""

    referral: Referral
    consent: Consent | None
    recipient: str


class _Cells:
    """Reads a row's cells, collecting the columns that are missing or do not parse."""

    def __init__(self, row: Row, school: SchoolSettings, iso_dates: bool) -> None:
        self.row = row
        self.school = school
        self.iso_dates = iso_dates
        self.missing: list[str] = []
        self.invalid: list[str] = []

    def text(self, column: str) -> str | None:
        try:
            value = one(self.row, column)
        except ValueError:
            self.invalid.append(column)
            return None
        if not value and column in REQUIRED:
            self.missing.append(column)
        return value or None

    def items(self, column: str) -> list[str]:
        try:
            return many(self.row, column)
        except ValueError:
            self.invalid.append(column)
            return []

    def parsed(self, column: str, parse: Callable[[str], V]) -> V | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, KeyError):
            self.invalid.append(column)
            return None

    def word(self, column: str, vocabulary: Mapping[str, V]) -> V | None:
        return self.parsed(column, lambda value: vocabulary[value.casefold()])

    def day(self, column: str) -> date | None:
        return self.parsed(column, self._day)

    def moment(self, column: str) -> str | None:
        """A date or date and time in the school's format, rendered ISO 8601 (unambiguous)."""
        return self.parsed(column, self._moment)

    def _day(self, value: str) -> date:
        if self.iso_dates:
            return date.fromisoformat(value)
        return datetime.strptime(value, self.school.date_format).date()

    def _moment(self, value: str) -> str:
        if self.iso_dates:
            return datetime.fromisoformat(value).isoformat(sep=" ", timespec="minutes")
        with_time = f"{self.school.date_format} {self.school.time_format}"
        try:
            moment = datetime.strptime(value, with_time)
        except ValueError:
            return self._day(value).isoformat()
        return moment.isoformat(sep=" ", timespec="minutes")


def to_referral(
    row: Row,
    settings: EducationSettings,
    *,
    today: date,
    consent_id: str,
    iso_dates: bool = False,
) -> Mapped | Refusal:
    """One row as a referral; `consent_id` names the consent record when the row gives one.

    `today`: the day that consent is valid from (the edge gives the day the file was first
    processed, so a file processed again maps the same consent). `iso_dates`: dates are
    ISO 8601 (JSON reports), not the school's format (CSV).
    """
    try:
        urn = one(row, "school_urn")
    except ValueError:
        return Refusal("invalid_field", ("school_urn",))
    if not urn:
        return Refusal("missing_field", ("school_urn",))
    school = settings.schools.get(urn)
    if school is None:
        return Refusal("unknown_school", ("school_urn",))
    cells = _Cells(row, school, iso_dates)
    subject = _subject(cells, settings)
    worker = _worker(cells)
    urgency, risk = cells.word("urgency", SCHOOL_URGENCY) or (None, None)
    categories, unmapped = _categories(cells, settings)
    service = cells.parsed("requested_service", RequestedService) or settings.requested_service
    narrative = _narrative(cells, unmapped)
    answer = cells.word("consent", {answer: answer for answer in CONSENT_ANSWERS})
    if cells.missing or cells.invalid or urgency is None or risk is None or answer is None:
        return _refused(cells)
    recipient = settings.recipient_for(school)
    try:
        built_subject = Subject.model_validate(subject)
    except ValidationError as error:
        return _invalid(error, "subject.")
    try:
        built_worker = Worker.model_validate(worker)
    except ValidationError as error:
        return _invalid(error, "referring_worker.")
    try:
        consent: Consent | None = None
        if answer == "yes":
            consent = _consent(
                cells, settings, built_subject, built_worker, recipient, today, consent_id
            )
            if consent is None:
                return _refused(cells)
            basis: dict[str, object] = {"consent_ref": consent.consent_id}
        else:
            found = _without_consent(cells, settings, answer, urgency_word=_word(row))
            if isinstance(found, Refusal):
                return found
            basis = found
        referral = Referral.model_validate(
            {
                "subject": built_subject,
                "reason_categories": categories,
                "risk_level": risk,
                "urgency": urgency,
                "requested_service": service,
                "narrative": narrative,
                "referring_worker": built_worker,
                **basis,
            }
        )
    except ValidationError as error:
        return _invalid(error)
    return Mapped(referral=referral, consent=consent, recipient=recipient)


def _word(row: Row) -> str:
    return one(row, "urgency").casefold()


def _refused(cells: _Cells) -> Refusal:
    if cells.missing:
        return Refusal("missing_field", tuple(dict.fromkeys(cells.missing)))
    return Refusal("invalid_field", tuple(dict.fromkeys(cells.invalid)))


def _invalid(error: ValidationError, prefix: str = "") -> Refusal:
    paths = []
    for found in field_errors(error.errors(include_input=False)):
        path = prefix + ".".join(str(part) for part in found.loc if not isinstance(part, int))
        paths.append(_COLUMN_OF.get(path, path or "row"))
    return Refusal("invalid_field", tuple(dict.fromkeys(paths)))


def _subject(cells: _Cells, settings: EducationSettings) -> dict[str, object]:
    languages = cells.items("interpreter_language")
    if not all(_LANGUAGE.match(code) for code in languages):
        cells.invalid.append("interpreter_language")
    return {
        "given_name": cells.text("child_forename"),
        "family_name": cells.text("child_surname"),
        "birth_date": cells.day("child_dob"),
        "sex": cells.word("child_gender", SEX) or SEX[""],
        "languages": languages,
        "address": _address(cells, settings),
        "guardians": _guardians(cells),
    }


def _address(cells: _Cells, settings: EducationSettings) -> dict[str, object] | None:
    lines = [line for line in cells.items("address") if line]
    postcode = cells.text("postcode")
    if not lines and postcode is None:
        return None
    return {"lines": lines, "postal_code": postcode, "country": settings.country}


def _guardians(cells: _Cells) -> list[dict[str, object]]:
    names = cells.items("carer_names")
    relations = cells.items("carer_relations")
    phones = cells.items("carer_phones") or [""] * len(names)
    responsible = cells.items("carer_parental_responsibility")
    lists = {
        "carer_relations": relations,
        "carer_phones": phones,
        "carer_parental_responsibility": responsible,
    }
    uneven = [column for column, values in lists.items() if len(values) != len(names)]
    if uneven:
        cells.invalid.extend(uneven)
        return []
    guardians: list[dict[str, object]] = []
    for name, relation, phone, answer in zip(names, relations, phones, responsible, strict=True):
        known_relation = RELATIONS.get(relation.casefold())
        known_answer = YES_NO.get(answer.casefold())
        if known_relation is None:
            cells.invalid.append("carer_relations")
        if known_answer is None:
            cells.invalid.append("carer_parental_responsibility")
        guardians.append(
            {
                "name": name,
                "relation": known_relation,
                "phone": phone or None,
                "parental_responsibility": known_answer,
            }
        )
    return guardians


def _worker(cells: _Cells) -> dict[str, object]:
    return {
        "name": cells.text("recorded_by"),
        "role": cells.text("recorder_role"),
        "phone": cells.text("recorder_phone"),
        "email": cells.text("recorder_email"),
    }


def _categories(cells: _Cells, settings: EducationSettings) -> tuple[list[object], list[str]]:
    labels = [label for label in cells.items("categories") if label]
    found: dict[object, None] = {}
    unmapped = []
    for label in labels:
        category, mapped = category_of(label, settings.categories)
        found[category] = None
        if not mapped:
            unmapped.append(label)
    if not found:
        cells.missing.append("categories")
    return list(found), unmapped


def _narrative(cells: _Cells, unmapped_categories: list[str]) -> str:
    parts = [cells.text("description") or ""]
    extra = []
    upn = cells.text("child_upn")
    if upn is not None and not is_upn(upn):
        cells.invalid.append("child_upn")
    for column, label in _NARRATIVE_LABELS:
        if column in ("observed_at", "recorded_at"):
            value = cells.moment(column)
        elif column == "linked_children":
            value = joined(cells.items(column)) or None
        else:
            value = cells.text(column)
        if value is not None:
            extra.append(f"{label}: {value}")
    if unmapped_categories:
        extra.append(f"School categories: {joined(unmapped_categories)}")
    if extra:
        parts.append("\n".join(["-- from the school's record --", *extra]))
    return "\n\n".join(parts)


def _consent(
    cells: _Cells,
    settings: EducationSettings,
    subject: Subject,
    recorder: Worker,
    recipient: str,
    today: date,
    consent_id: str,
) -> Consent | None:
    by = cells.text("consent_by")
    relation = cells.word("consent_by_relation", CONSENT_RELATIONS)
    if by is None:
        cells.missing.append("consent_by")
    if relation is None and "consent_by_relation" not in cells.invalid:
        cells.missing.append("consent_by_relation")
    if by is None or relation is None:
        return None
    return Consent(
        consent_id=consent_id,
        subject=subject,
        given_by=ConsentGiver(name=by, relation=relation),
        scope=ConsentScope(
            agencies=[recipient],
            purposes=settings.consent_purposes,
            data_categories=settings.consent_data,
        ),
        valid_from=today,
        valid_until=today + timedelta(days=settings.consent_valid_days),
        status=ConsentStatus.GRANTED,
        recorded_by=recorder,
    )


def _without_consent(
    cells: _Cells, settings: EducationSettings, answer: str, *, urgency_word: str
) -> dict[str, object] | Refusal:
    """The lawful basis for a row without consent, under the school's policy, or a Refusal.

    A careful safeguarding lead expects three things before a concern goes without consent:
    a written policy for it, authorised by a named supervisor; the case within it (the
    answer and the urgency it names); and this child's own reason, recorded by the referrer.
    """
    policy = settings.without_consent
    refused = "consent_refused" if answer == "no" else "consent_not_sought"
    if policy is None or answer not in policy.answers:
        return Refusal(refused, ("consent",))
    if urgency_word not in policy.urgencies:
        return Refusal(f"{refused}_at_this_urgency", ("consent", "urgency"))
    reason = cells.text("no_consent_reason")
    if reason is None:
        return Refusal("missing_field", ("no_consent_reason",))
    lawful_basis: LawfulBasis = policy.lawful_basis
    return {
        "lawful_basis": lawful_basis,
        "justification": justification(policy.policy, answer, reason),
        "authorised_by": policy.authorised_by,
    }


_ANSWER_TEXT = {"no": "refused", "not_sought": "not sought"}


def justification(policy: str, answer: str, reason: str) -> str:
    """The justification sent without consent: the school's policy, whether consent was
    refused or not sought (the recipient must know which), and this child's reason."""
    return f"{policy}\n\nConsent: {_ANSWER_TEXT[answer]}\nReason for this child: {reason}"


def _answer_and_reason(text: str, policy: str) -> tuple[str, str] | None:
    for answer in _ANSWER_TEXT:
        prefix = justification(policy, answer, "")
        if text.startswith(prefix) and len(text) > len(prefix):
            return answer, text[len(prefix) :]
    return None


def to_row(
    referral: Referral,
    consent: Consent | None,
    *,
    school_urn: str,
    settings: EducationSettings,
) -> dict[str, str]:
    """A referral (and the consent it cites) as a row of the school's export, every column
    present; dates in the school's format.

    Raises ValueError for what a school's row cannot say: a subject known only by an
    estimated age (schools record the birth date), a school not in the table, a lawful
    basis that is not the school's policy's.
    """
    school = settings.schools.get(school_urn)
    if school is None:
        raise ValueError("the school is not in the table")
    subject = referral.subject
    if subject.birth_date is None:
        raise ValueError("a school's row needs a birth date")
    address = subject.address
    guardians = subject.guardians
    row = dict.fromkeys(COLUMNS, "")
    row |= {
        "school_urn": school_urn,
        "child_forename": subject.given_name,
        "child_surname": subject.family_name,
        "child_dob": subject.birth_date.strftime(school.date_format),
        "child_gender": subject.sex.value,
        "address": joined(
            address.lines + [part for part in (address.locality, address.region) if part]
        )
        if address
        else "",
        "postcode": (address.postal_code or "") if address else "",
        "carer_names": joined([guardian.name for guardian in guardians]),
        "carer_relations": joined([guardian.relation.value for guardian in guardians]),
        "carer_phones": joined([guardian.phone or "" for guardian in guardians])
        if any(guardian.phone for guardian in guardians)
        else "",
        "carer_parental_responsibility": joined(
            ["yes" if guardian.parental_responsibility else "no" for guardian in guardians]
        ),
        "categories": joined([category.value for category in referral.reason_categories]),
        "description": referral.narrative,
        "recorded_by": referral.referring_worker.name,
        "recorder_role": referral.referring_worker.role,
        "recorder_phone": referral.referring_worker.phone or "",
        "recorder_email": referral.referring_worker.email or "",
        "urgency": URGENCY_WORD[referral.urgency],
        "requested_service": referral.requested_service.value,
        "interpreter_language": joined(subject.languages),
    }
    if consent is not None and consent.given_by.name and consent.given_by.relation:
        row |= {
            "consent": "yes",
            "consent_by": consent.given_by.name,
            "consent_by_relation": consent.given_by.relation.value,
        }
    elif referral.justification is not None:
        policy = settings.without_consent
        found = _answer_and_reason(referral.justification, policy.policy) if policy else None
        if found is None:
            raise ValueError("the lawful basis is not the school's policy")
        row |= {"consent": found[0], "no_consent_reason": found[1]}
    return row
