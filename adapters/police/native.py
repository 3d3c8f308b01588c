"""The police system's notification of children coming to notice: the JSON it posts.

No public schema exists for these (UK PPNs, the Met's Merlin reports, Operation Encompass
notices, the DASH form's child section); this one holds what their published descriptions
say they carry (docs/adapters.md, `## police`, lists the sources): the police reference,
the officer in the case, the incident, each child with what the officer saw, the adults
around them, a risk grade, whether it is a formal referral or information only, and
whether consent to share was obtained (and, when not, on what basis it is shared).

Every string and list is capped, unknown fields are refused and validation errors never
echo the input, as in `schemas/`: a police system's bug must not become a log of names.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, model_validator

from schemas.common import (
    CountryCode,
    Email,
    LanguageCode,
    LawfulBasis,
    Name,
    Phone,
    PostalCode,
    Text,
    Wire,
    unique,
)

SCHEMA_VERSION: Literal["1"] = "1"

PoliceId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9/_:.\-]{0,63}$")]
"""A police system's own identifier (notification id, crime reference, person ref)."""
Circumstances = Annotated[
    str, Field(max_length=8_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*\S[\s\S]*$")
]

MAX_CHILDREN = 10
MAX_ADULTS = 10


class RiskGrade(StrEnum):
    """The officer's grading (a PPN's RAG: red, amber, green)."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class NotificationType(StrEnum):
    """A formal referral for assessment, or information shared for the agency to hold."""

    REFERRAL = "referral"
    INFORMATION_EXCHANGE = "information_exchange"


class IncidentType(StrEnum):
    DOMESTIC_ABUSE = "domestic_abuse"
    PHYSICAL_ASSAULT = "physical_assault"
    SEXUAL_OFFENCE = "sexual_offence"
    NEGLECT = "neglect"
    CHILD_EXPLOITATION = "child_exploitation"
    MISSING_CHILD = "missing_child"
    ONLINE_HARM = "online_harm"
    OTHER = "other"


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class Relationship(StrEnum):
    """An adult's relation to the children of the notification."""

    MOTHER = "mother"
    FATHER = "father"
    STEP_PARENT = "step_parent"
    GRANDPARENT = "grandparent"
    FOSTER_CARER = "foster_carer"
    LEGAL_GUARDIAN = "legal_guardian"
    OTHER_RELATIVE = "other_relative"
    PARENTS_PARTNER = "parents_partner"
    OTHER = "other"


class Officer(Wire):
    """The officer in the case: who social services call back."""

    name: Name
    role: Name
    collar_number: PoliceId | None = None
    phone: Phone | None = None
    email: Email | None = None


class Address(Wire):
    lines: Annotated[list[Name], Field(max_length=4)] = Field(default_factory=list)
    locality: Name | None = None
    postal_code: PostalCode | None = None
    country: CountryCode


class Incident(Wire):
    occurred_at: AwareDatetime
    location: Name
    type: IncidentType
    circumstances: Circumstances


class Child(Wire):
    """One child at the incident. Exactly one of `dob` and `estimated_age`."""

    child_ref: PoliceId
    given_name: Name
    family_name: Name
    dob: date | None = None
    estimated_age: Annotated[int, Field(ge=0, le=17)] | None = None
    sex: Sex
    languages: Annotated[list[LanguageCode], Field(max_length=8)] = Field(default_factory=list)
    address: Address | None = None
    school: Name | None = None
    present: bool
    witnessed: bool
    injured: bool
    voice_of_child: Text | None = None

    @model_validator(mode="after")
    def _one_age(self) -> "Child":
        if (self.dob is None) == (self.estimated_age is None):
            raise ValueError("set exactly one of dob and estimated_age")
        return self


class Adult(Wire):
    name: Name
    dob: date | None = None
    relationship: Relationship
    parental_responsibility: bool = False
    phone: Phone | None = None


class ConsentGiverRelation(StrEnum):
    CHILD = "child"  # a competent child consenting for themself
    PARENT = "parent"
    GUARDIAN = "guardian"
    CARER = "carer"
    OTHER = "other"


class ConsentGiven(Wire):
    """Consent to share was obtained, from whom, and until when (a year when not said)."""

    obtained: Literal[True]
    given_by_name: Name
    given_by_relation: ConsentGiverRelation
    valid_until: date | None = None


class SharedWithoutConsent(Wire):
    """Consent was not obtained (or not sought): the basis, why, and who authorised it."""

    obtained: Literal[False]
    basis: Literal[
        LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
        LawfulBasis.VITAL_INTERESTS,
        LawfulBasis.LEGAL_OBLIGATION,
        LawfulBasis.PUBLIC_TASK,
    ]
    justification: Text
    authorised_by: Officer


class Notification(Wire):
    """One notification: a police reference and one or more children coming to notice."""

    schema_version: Literal["1"] = SCHEMA_VERSION
    notification_id: PoliceId
    police_reference: PoliceId
    force: Name
    notification_type: NotificationType
    officer: Officer
    incident: Incident
    children: Annotated[list[Child], Field(min_length=1, max_length=MAX_CHILDREN)]
    adults: Annotated[list[Adult], Field(max_length=MAX_ADULTS)] = Field(default_factory=list)
    risk_grade: RiskGrade
    consent_to_share: Annotated[
        ConsentGiven | SharedWithoutConsent, Field(discriminator="obtained")
    ]

    @model_validator(mode="after")
    def _distinct_children(self) -> "Notification":
        unique([child.child_ref for child in self.children], "children.child_ref")
        return self
