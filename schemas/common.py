"""Building blocks shared by the message bodies: bounded text, the child, workers, attachments.

Every string and list has a hard size cap so that a hostile or broken sender cannot make a
recipient allocate without bound. The text of a validation error never echoes the input
(`hide_input_in_errors`), because the input is personal data and errors end up in logs and
dead-letter reasons; `ValidationError.errors()` and `.json()` still carry it unless called
with `include_input=False`, so pass that wherever an error leaves the process.
"""

import base64
import binascii
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from schemas.ids import UUID4_PATTERN
from schemas.kinds import LawfulBasis as LawfulBasis  # its home: the header repeats it

# C0 controls and DEL break terminals, HL7 v2 exports and PostgreSQL text (NUL): refused in
# names; free text may keep tab, line feed and carriage return.
_LINE = r"[^\x00-\x1f\x7f]"
_NON_BLANK_LINE = r"[^\s\x00-\x1f\x7f]"
_FREE = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
_NON_BLANK_FREE = r"[^\s\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
LINE_PATTERN = rf"^{_LINE}*{_NON_BLANK_LINE}{_LINE}*$"
FREE_TEXT_PATTERN = rf"^{_FREE}*{_NON_BLANK_FREE}{_FREE}*$"

NAME_MAX = 200
TEXT_MAX = 2_000
NARRATIVE_MAX = 20_000

Name = Annotated[str, StringConstraints(max_length=NAME_MAX, pattern=LINE_PATTERN)]
"""One line, not blank, at most 200 characters: names, roles, labels."""
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=FREE_TEXT_PATTERN)]
"""Free text, not blank, at most 2,000 characters: justifications, summaries, notes."""
Narrative = Annotated[str, StringConstraints(max_length=NARRATIVE_MAX, pattern=FREE_TEXT_PATTERN)]
"""Free text, not blank, at most 20,000 characters: the account of concern, case summaries."""

ConsentId = Annotated[str, StringConstraints(pattern=UUID4_PATTERN, max_length=36)]
"""Random UUIDv4 naming one consent record; withdrawal reuses the id it withdraws."""
AlertId = Annotated[str, StringConstraints(pattern=UUID4_PATTERN, max_length=36)]

LanguageCode = Annotated[
    str,
    StringConstraints(
        max_length=15, pattern=r"^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|[0-9]{3}))?$"
    ),
]
"""ISO 639-1/639-3 language, optionally with script and region (BCP 47 subset): `ar`, `pt-BR`."""
CountryCode = Annotated[str, StringConstraints(max_length=2, pattern=r"^[A-Z]{2}$")]
"""ISO 3166-1 alpha-2, upper case."""
PostalCode = Annotated[
    str, StringConstraints(max_length=16, pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]*$")
]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9][0-9 ()-]{2,}$")]
"""Digits with optional leading `+` and the usual separators; E.164 preferred."""
Email = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
"""Deliberately loose (one `@`, no spaces): mailbox syntax is the mail system's business."""


class Wire(BaseModel):
    """Base of every body model: unknown fields refused, immutable, input kept out of errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


def unique(items: list[Any], what: str) -> None:
    """Raise ValueError naming `what` when `items` holds a duplicate (items must be hashable)."""
    if len(items) != len(set(items)):
        raise ValueError(f"{what} must not repeat")


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class GuardianRelation(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    PARENT = "parent"
    STEP_PARENT = "step_parent"
    GRANDPARENT = "grandparent"
    SIBLING = "sibling"
    OTHER_RELATIVE = "other_relative"
    FOSTER_CARER = "foster_carer"
    LEGAL_GUARDIAN = "legal_guardian"
    OTHER = "other"


class Address(Wire):
    """A postal address; only `country` is required because families in crisis move often."""

    lines: Annotated[list[Name], Field(max_length=4)] = Field(default_factory=list)
    locality: Name | None = None
    region: Name | None = None
    postal_code: PostalCode | None = None
    country: CountryCode


class Guardian(Wire):
    """A person with care of the child; `parental_responsibility` is the legal standing."""

    name: Name
    relation: GuardianRelation
    phone: Phone | None = None
    email: Email | None = None
    parental_responsibility: bool


MAX_AGE_YEARS = 25  # care leavers are supported into their twenties


class Subject(Wire):
    """The child a message is about.

    Exactly one of `birth_date` and `estimated_age_years` is set: agencies often meet a child
    whose birth date nobody knows, and a guessed date would pass for a fact downstream.
    """

    given_name: Name
    family_name: Name
    other_names: Annotated[list[Name], Field(max_length=5)] = Field(default_factory=list)
    birth_date: Annotated[date, Field(ge=date(1900, 1, 1))] | None = None
    estimated_age_years: Annotated[int, Field(ge=0, le=MAX_AGE_YEARS)] | None = None
    sex: Sex
    languages: Annotated[list[LanguageCode], Field(max_length=8)] = Field(default_factory=list)
    address: Address | None = None
    guardians: Annotated[list[Guardian], Field(max_length=10)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_age(self) -> "Subject":
        if (self.birth_date is None) == (self.estimated_age_years is None):
            raise ValueError("set exactly one of birth_date and estimated_age_years")
        unique(self.languages, "languages")
        return self


class Worker(Wire):
    """A practitioner: who to call about this message. Their agency is the header's sender."""

    name: Name
    role: Name
    phone: Phone | None = None
    email: Email | None = None


class SharingBasis(Wire):
    """Base of bodies that share case data: they cite a consent record or a lawful basis.

    Exactly one of `consent_ref` and `lawful_basis`; a lawful basis needs a `justification`
    and the worker who `authorised_by` it, because every sharing decision without consent
    must be recorded with its reason and owner.
    """

    consent_ref: ConsentId | None = None
    lawful_basis: LawfulBasis | None = None
    justification: Text | None = None
    authorised_by: Worker | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> "SharingBasis":
        if (self.consent_ref is None) == (self.lawful_basis is None):
            raise ValueError("set exactly one of consent_ref and lawful_basis")
        with_basis = self.lawful_basis is not None
        if with_basis != (self.justification is not None):
            raise ValueError("justification is set exactly when lawful_basis is")
        if with_basis != (self.authorised_by is not None):
            raise ValueError("authorised_by is set exactly when lawful_basis is")
        return self


ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
ATTACHMENTS_MAX = 5
# The sealed envelope pads bodies to at most 8 MiB; 5 MiB of files (6.7 MiB as base64)
# leaves room for the rest of the body, so every valid body can be sealed.
ATTACHMENTS_TOTAL_MAX_BYTES = 5 * 1024 * 1024
_ATTACHMENT_MAX_B64 = 4 * -(-ATTACHMENT_MAX_BYTES // 3)


def _from_base64(value: object) -> object:
    # Bytes are taken as already decoded, so model_dump() -> model_validate() round-trips;
    # text is strict base64 (no line breaks), checked for length before decoding anything.
    if not isinstance(value, str):
        return value
    if len(value) > _ATTACHMENT_MAX_B64:
        raise ValueError(f"attachment data exceeds {ATTACHMENT_MAX_BYTES} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error:
        raise ValueError("attachment data is not standard base64") from None


def _to_base64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


Base64Data = Annotated[
    bytes,
    Field(max_length=ATTACHMENT_MAX_BYTES),
    BeforeValidator(_from_base64),
    PlainSerializer(_to_base64, return_type=str, when_used="json"),
    WithJsonSchema(
        {"type": "string", "contentEncoding": "base64", "maxLength": _ATTACHMENT_MAX_B64}
    ),
]
"""Raw bytes in Python, standard padded base64 in JSON; at most 2 MiB decoded."""

ContentType = Annotated[
    str,
    StringConstraints(
        max_length=100, pattern=r"^(application|image|text|audio|video)/[a-z0-9][a-z0-9.+-]*$"
    ),
]
"""A bare media type, lower case, no parameters: `application/pdf`, `image/jpeg`."""
Filename = Annotated[
    str, StringConstraints(max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")
]
"""A plain file name: no directories, no leading dot, so saving it cannot escape a folder."""


class Attachment(Wire):
    """A file sent with a body: at most 2 MiB decoded, at most 5 per message."""

    content_type: ContentType
    filename: Filename
    description: Text | None = None
    data: Base64Data


def _within_total(attachments: list[Attachment]) -> list[Attachment]:
    if sum(len(a.data) for a in attachments) > ATTACHMENTS_TOTAL_MAX_BYTES:
        raise ValueError(f"attachments exceed {ATTACHMENTS_TOTAL_MAX_BYTES} bytes in total")
    return attachments


Attachments = Annotated[
    list[Attachment], Field(max_length=ATTACHMENTS_MAX), AfterValidator(_within_total)
]
