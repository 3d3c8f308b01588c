"""A Primero case's flat fields and Caselink's Subject, both ways (pure).

Primero keeps a child as one flat record (`app/models/child.rb`): `name_first`,
`name_last`, `sex`, `date_of_birth` or an estimated `age`, the consent flags... Only the
fields below are kept; like Primero, unknown fields are dropped silently. Every string is
capped as the canonical schemas cap them, and a validation error never echoes a value.
"""

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.social.errors import invalid
from schemas.common import MAX_AGE_YEARS, Name, Sex, Subject, Text

PrimeroSex = Literal["male", "female", "other", "unknown"]
RiskLevel = Literal["low", "medium", "high"]


class CaseFields(BaseModel):
    """The case fields this adapter keeps, as Primero names them; others are dropped."""

    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    case_id: Name | None = None
    name: Name | None = None
    name_first: Name | None = None
    name_middle: Name | None = None
    name_last: Name | None = None
    sex: PrimeroSex | None = None
    age: Annotated[int, Field(ge=0, le=130)] | None = None
    date_of_birth: Annotated[date, Field(ge=date(1900, 1, 1))] | None = None
    estimated: bool | None = None
    registration_date: date | None = None
    module_id: Name | None = None
    risk_level: RiskLevel | None = None
    urgent_protection_concern: bool | None = None
    protection_concerns: Annotated[list[Name], Field(max_length=20)] = Field(default_factory=list)
    consent_for_services: bool | None = None
    disclosure_other_orgs: bool | None = None
    consent_source: Name | None = None
    consent_source_name: Name | None = None  # a Caselink addition: who gave the consent
    summary: Text | None = None


def case_fields(data: object) -> CaseFields:
    """Primero's `data` object of a case; raises PrimeroError 422 naming the first bad field."""
    if not isinstance(data, dict):
        raise invalid("data", "errors.api.bad_request")
    try:
        return CaseFields.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_input=False)[0]
        raise invalid(str(first["loc"][0]) if first["loc"] else "data") from None


def _names(fields: CaseFields) -> tuple[str, str, list[str]]:
    first, last = fields.name_first, fields.name_last
    if (first is None or last is None) and fields.name is not None:
        # Primero's `name` is "first [middle] last" when the parts are not filled in.
        parts = fields.name.split()
        if len(parts) >= 2:
            first, last = first or parts[0], last or parts[-1]
    if first is None:
        raise invalid("name_first", "errors.models.case.name_first.required")
    if last is None:
        raise invalid("name_last", "errors.models.case.name_last.required")
    middle = [fields.name_middle] if fields.name_middle else []
    return first, last, middle


def subject_of(fields: CaseFields) -> Subject:
    """The child of a case as Caselink's Subject; raises PrimeroError 422 naming the field.

    A `date_of_birth` wins over `age` (an age then is only Primero's computation of it); an
    age alone is an estimate. No sex given is `unknown`.
    """
    first, last, middle = _names(fields)
    if fields.date_of_birth is None and fields.age is None:
        raise invalid("date_of_birth", "errors.models.case.date_of_birth.required")
    if fields.date_of_birth is None and (fields.age or 0) > MAX_AGE_YEARS:
        raise invalid("age")
    try:
        return Subject(
            given_name=first,
            family_name=last,
            other_names=middle,
            birth_date=fields.date_of_birth,
            estimated_age_years=None if fields.date_of_birth else fields.age,
            sex=Sex(fields.sex or "unknown"),
        )
    except ValidationError:
        raise invalid("name") from None


def age_on(birth: date, today: date) -> int:
    """Whole years from `birth` to `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def fields_of(subject: Subject, today: date) -> CaseFields:
    """A Subject as Primero's case fields; `today` computes the age from a birth date."""
    middle = subject.other_names[0] if subject.other_names else None
    name = " ".join(part for part in (subject.given_name, middle, subject.family_name) if part)
    born = subject.birth_date
    return CaseFields(
        name=name if len(name) <= 200 else None,
        name_first=subject.given_name,
        name_middle=middle,
        name_last=subject.family_name,
        sex=subject.sex.value,
        date_of_birth=born,
        age=age_on(born, today) if born else subject.estimated_age_years,
        estimated=born is None,
    )
