"""The consent body: record, scope, refuse or withdraw consent to share a child's data."""

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from schemas.common import ConsentId, Name, Subject, Wire, Worker, unique
from schemas.header import UnixSeconds
from schemas.ids import AgencyId
from schemas.kinds import AgencyKind, ConsentStatus


class ConsentRelation(StrEnum):
    """Who the consenting person is to the child; `self` is the child (Gillick competence)."""

    SELF = "self"
    PARENT = "parent"
    GUARDIAN = "guardian"
    CAREGIVER = "caregiver"
    OTHER = "other"


class ConsentGiver(Wire):
    """A named person with their relation to the child, or a court order (then no person)."""

    name: Name | None = None
    relation: ConsentRelation | None = None
    court_order: bool = False

    @model_validator(mode="after")
    def _person_or_court(self) -> "ConsentGiver":
        person = self.name is not None and self.relation is not None
        nobody = self.name is None and self.relation is None
        if not (person if not self.court_order else nobody):
            raise ValueError("give name and relation, or court_order without them")
        return self


class Purpose(StrEnum):
    ASSESSMENT = "assessment"
    SERVICE_PROVISION = "service_provision"
    CASE_TRANSFER = "case_transfer"
    SAFETY_PLANNING = "safety_planning"
    RESEARCH_ANONYMISED = "research_anonymised"


class DataCategory(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    HEALTH = "health"
    EDUCATION = "education"
    FAMILY = "family"
    CASE_NOTES = "case_notes"
    POLICE_RECORDS = "police_records"


class ConsentScope(Wire):
    """Who may receive what, for which purposes: named agencies and/or whole kinds of agency.

    At least one of `agencies` and `agency_kinds` is non-empty; an agency is covered when it
    is named or its kind is listed. No list repeats an item.
    """

    agencies: Annotated[list[AgencyId], Field(max_length=100)] = Field(default_factory=list)
    agency_kinds: Annotated[list[AgencyKind], Field(max_length=len(AgencyKind))] = Field(
        default_factory=list
    )
    purposes: Annotated[list[Purpose], Field(min_length=1, max_length=len(Purpose))]
    data_categories: Annotated[
        list[DataCategory], Field(min_length=1, max_length=len(DataCategory))
    ]

    @model_validator(mode="after")
    def _someone(self) -> "ConsentScope":
        if not self.agencies and not self.agency_kinds:
            raise ValueError("name at least one agency or agency kind")
        unique(self.agencies, "agencies")
        unique(self.agency_kinds, "agency_kinds")
        unique(self.purposes, "purposes")
        unique(self.data_categories, "data_categories")
        return self


class Consent(Wire):
    """One consent record about `subject`, valid from `valid_from` to `valid_until` inclusive.

    A withdrawal is a new consent message with the same `consent_id`, status `withdrawn`
    and `withdrawn_at` (Unix seconds, set exactly then). `valid_until` is after
    `valid_from`. `status` is repeated in the clear header.
    """

    consent_id: ConsentId
    subject: Subject
    given_by: ConsentGiver
    scope: ConsentScope
    valid_from: date
    valid_until: date
    status: ConsentStatus
    withdrawn_at: UnixSeconds | None = None
    recorded_by: Worker

    @model_validator(mode="after")
    def _coherent(self) -> "Consent":
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if (self.status is ConsentStatus.WITHDRAWN) != (self.withdrawn_at is not None):
            raise ValueError("withdrawn_at is set exactly when status is withdrawn")
        return self
