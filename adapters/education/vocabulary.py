"""School words to Caselink's closed vocabularies, and back.

Each map is a fixed vocabulary, matched without case: a word outside it is refused, never
matched loosely. Concern categories are the exception: schools configure their own (CPOMS,
MyConcern), so the table may add labels, and a label nobody mapped becomes `other` with the
school's label kept in the narrative, because refusing a concern over a label would delay it.
"""

from collections.abc import Mapping

from schemas.common import GuardianRelation, Sex
from schemas.consent import ConsentRelation
from schemas.kinds import Urgency
from schemas.referral import ReasonCategory, RiskLevel

SEX: Mapping[str, Sex] = {
    "female": Sex.FEMALE,
    "f": Sex.FEMALE,
    "girl": Sex.FEMALE,
    "male": Sex.MALE,
    "m": Sex.MALE,
    "boy": Sex.MALE,
    "other": Sex.OTHER,
    "unknown": Sex.UNKNOWN,
    "not known": Sex.UNKNOWN,
    "": Sex.UNKNOWN,
}

RELATIONS: Mapping[str, GuardianRelation] = {
    **{relation.value: relation for relation in GuardianRelation},
    "mum": GuardianRelation.MOTHER,
    "dad": GuardianRelation.FATHER,
    "step parent": GuardianRelation.STEP_PARENT,
    "foster carer": GuardianRelation.FOSTER_CARER,
    "legal guardian": GuardianRelation.LEGAL_GUARDIAN,
}

CONSENT_RELATIONS: Mapping[str, ConsentRelation] = {
    **{relation.value: relation for relation in ConsentRelation},
    "child": ConsentRelation.SELF,
    "carer": ConsentRelation.CAREGIVER,
}

YES_NO: Mapping[str, bool] = {"yes": True, "y": True, "no": False, "n": False}

CONSENT_ANSWERS = ("yes", "no", "not_sought")

SCHOOL_URGENCY: Mapping[str, tuple[Urgency, RiskLevel]] = {
    "immediate": (Urgency.EMERGENCY, RiskLevel.IMMEDIATE),
    "urgent": (Urgency.HIGH, RiskLevel.HIGH),
    "routine": (Urgency.NORMAL, RiskLevel.MEDIUM),
}
"""A school's urgency, as the referral's urgency and the risk the school implies by it."""

URGENCY_WORD: Mapping[Urgency, str] = {
    Urgency.EMERGENCY: "immediate",
    Urgency.HIGH: "urgent",
    Urgency.NORMAL: "routine",
    Urgency.LOW: "routine",
}

CATEGORIES: Mapping[str, ReasonCategory] = {
    **{category.value: category for category in ReasonCategory},
    "physical abuse": ReasonCategory.PHYSICAL_ABUSE,
    "sexual abuse": ReasonCategory.SEXUAL_ABUSE,
    "emotional abuse": ReasonCategory.EMOTIONAL_ABUSE,
    "domestic abuse": ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE,
    "domestic violence": ReasonCategory.DOMESTIC_VIOLENCE_EXPOSURE,
    "cse": ReasonCategory.EXPLOITATION,
    "cce": ReasonCategory.EXPLOITATION,
    "county lines": ReasonCategory.EXPLOITATION,
    "child sexual exploitation": ReasonCategory.EXPLOITATION,
    "child criminal exploitation": ReasonCategory.EXPLOITATION,
    "mental health": ReasonCategory.HEALTH_NEED,
    "self-harm": ReasonCategory.HEALTH_NEED,
    "attendance": ReasonCategory.SCHOOL_ABSENCE,
    "child missing education": ReasonCategory.SCHOOL_ABSENCE,
}


def category_of(label: str, extra: Mapping[str, ReasonCategory]) -> tuple[ReasonCategory, bool]:
    """The canonical category of a school's label, and whether the label was mapped."""
    key = label.casefold()
    extra_folded = {name.casefold(): category for name, category in extra.items()}
    found = extra_folded.get(key) or CATEGORIES.get(key)
    return (found, True) if found is not None else (ReasonCategory.OTHER, False)
