"""The `[adapters.education]` table: the watched folder, the schools, the recipient, consent.

Every school that exports into the folder is listed by its URN (or, for Norway-shaped JSON,
its organisation number) with the date format of its exports: dates are read in that format
only, never guessed (a school's 03/04/2012 is not a US export's). Rows shared without consent
follow `without_consent`, the school's written policy, or are refused.
"""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from broker.gateway.adapter_port import AdapterConfigError
from schemas.common import CountryCode, LawfulBasis, Text, Worker
from schemas.consent import DataCategory, Purpose
from schemas.field_errors import field_errors, field_paths
from schemas.ids import AgencyId
from schemas.referral import ReasonCategory, RequestedService

SchoolId = Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,20}$")]

# The strftime directives a school's date may use: day, month, year, and the separators.
_DATE_DIRECTIVES = ("%d", "%m", "%Y")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolSettings(_Table):
    """One school: how its exports write dates, and where its referrals go if not the default."""

    date_format: str
    time_format: str = "%H:%M"
    recipient: AgencyId | None = None

    @field_validator("date_format")
    @classmethod
    def _a_full_date(cls, value: str) -> str:
        # A format without day, month and four-digit year would make a date up.
        if not all(directive in value for directive in _DATE_DIRECTIVES):
            raise ValueError("date_format needs %d, %m and %Y")
        return value


class WithoutConsent(_Table):
    """The school's policy for sharing without consent, authorised by a named supervisor.

    A row answered `no` or `not_sought` is sent only when its answer is in `answers`, its
    urgency in `urgencies`, and it gives its own `no_consent_reason`; it then cites
    `lawful_basis`, justified by `policy` and the row's reason, authorised by `authorised_by`.
    """

    answers: list[Literal["no", "not_sought"]] = Field(min_length=1)
    urgencies: list[Literal["immediate", "urgent", "routine"]] = Field(min_length=1)
    lawful_basis: LawfulBasis = LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM
    policy: Text
    authorised_by: Worker

    @field_validator("lawful_basis")
    @classmethod
    def _not_consent(cls, value: LawfulBasis) -> LawfulBasis:
        if value is LawfulBasis.CONSENT:
            raise ValueError("sharing without consent cannot cite consent")
        return value


class EducationSettings(_Table):
    """The whole table; relative paths start at the gateway config's folder."""

    folder: Path
    state: Path
    send_as: str
    recipient: AgencyId
    schools: dict[SchoolId, SchoolSettings] = Field(min_length=1)
    poll_s: float = Field(default=5.0, gt=0, le=3600)
    country: CountryCode = "GB"
    max_file_bytes: int = Field(default=10 * 1024 * 1024, gt=0, le=100 * 1024 * 1024)
    max_rows: int = Field(default=5_000, gt=0, le=100_000)
    consent_valid_days: int = Field(default=90, gt=0, le=3 * 365)
    consent_purposes: list[Purpose] = Field(default=[Purpose.ASSESSMENT], min_length=1)
    consent_data: list[DataCategory] = Field(
        default=[
            DataCategory.IDENTITY,
            DataCategory.CONTACT,
            DataCategory.EDUCATION,
            DataCategory.FAMILY,
            DataCategory.CASE_NOTES,
        ],
        min_length=1,
    )
    requested_service: RequestedService = RequestedService.ASSESSMENT
    categories: dict[str, ReasonCategory] = Field(default_factory=dict)
    without_consent: WithoutConsent | None = None

    def recipient_for(self, school: SchoolSettings) -> str:
        return school.recipient or self.recipient


def parse_settings(table: Any, folder: Path) -> EducationSettings:
    """The table validated, paths made absolute; raises AdapterConfigError in one line."""
    try:
        settings = EducationSettings.model_validate(table)
    except ValidationError as error:
        paths = field_paths(field_errors(error.errors(include_input=False)))
        raise AdapterConfigError(f"[adapters.education]: invalid {paths}") from None
    return settings.model_copy(
        update={"folder": folder / settings.folder, "state": folder / settings.state}
    )
