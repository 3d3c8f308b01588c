"""The inbox pages' forms, read into the gateway's own models (pure: no I/O).

A form's fields arrive as text (url-encoded); they are put together into the same body the
JSON API would take and validated by the same models, so a form can send nothing the API
would refuse. A problem names the form's fields at fault, never the values sent.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from broker.look import N_
from schemas.acknowledgement import Acknowledgement, AckReasonCategory, OutcomeCategory
from schemas.common import Worker
from schemas.field_errors import field_errors
from schemas.kinds import AckStatus, LawfulBasis
from schemas.referral import Referral

MAX_SEND_FORM_BYTES = 256 * 1024
"""A referral's form: a narrative of 20,000 characters percent-encoded (up to 9 bytes per
character) is 180 KiB; the rest is short."""
MAX_SEND_FORM_FIELDS = 40
MAX_ANSWER_FORM_BYTES = 48 * 1024
"""An answer's form: two free texts at most (a reason or outcome or plan, and a note) of
2,000 characters each, percent-encoded (up to 9 bytes per character: Thai takes 9) are
36 KiB; the rest is short."""
MAX_ANSWER_FORM_FIELDS = 8
LAST_YEAR = date.max.year  # no deadline in it is taken (see _end_of)

# Each form field's label: shown beside the field and in a problem's list of fields.
LABELS: Mapping[str, str] = {
    "recipient": N_("Send to"),
    "urgency": N_("Urgency"),
    "respond_by": N_("Answer needed by"),
    "given_name": N_("Given name"),
    "family_name": N_("Family name"),
    "birth_date": N_("Date of birth"),
    "estimated_age": N_("Estimated age (years)"),
    "sex": N_("Sex"),
    "reason": N_("Reasons for concern"),
    "risk_level": N_("Risk level"),
    "requested_service": N_("Service requested"),
    "service_detail": N_("Service requested in detail"),
    "narrative": N_("Account of concern"),
    "basis": N_("Basis for sharing"),
    "consent_id": N_("Consent id from the register"),
    "lawful_basis": N_("Lawful basis"),
    "justification": N_("Justification"),
    "authorised_by": N_("Authorised by (a supervisor's name)"),
    "note": N_("Note"),
    "reason_category": N_("Reason"),
    "reason_text": N_("Reason in words"),
    "to": N_("Redirect to"),
    "outcome": N_("Outcome"),
    "outcome_text": N_("Outcome in words"),
    "plan": N_("The plan"),
}

# Where a body's validation error points, as the form's field.
_SEND_FIELDS: Mapping[tuple[str, ...], tuple[str, ...]] = {
    ("subject", "given_name"): ("given_name",),
    ("subject", "family_name"): ("family_name",),
    ("subject", "birth_date"): ("birth_date",),
    ("subject", "estimated_age_years"): ("estimated_age",),
    ("subject", "sex"): ("sex",),
    ("subject",): ("birth_date", "estimated_age"),
    ("reason_categories",): ("reason",),
    ("risk_level",): ("risk_level",),
    ("urgency",): ("urgency",),
    ("requested_service",): ("requested_service",),
    ("requested_service_detail",): ("service_detail",),
    ("narrative",): ("narrative",),
    ("consent_ref",): ("consent_id",),
    ("lawful_basis",): ("lawful_basis",),
    ("justification",): ("justification",),
    ("authorised_by",): ("authorised_by",),
    (): ("basis",),
}


class FormProblem(Exception):
    """The form cannot be read as asked: `fields` names the form fields at fault."""

    def __init__(self, fields: Sequence[str]) -> None:
        super().__init__("check: " + ", ".join(fields))
        self.fields = tuple(dict.fromkeys(fields))


class Basis(StrEnum):
    """How a referral's sharing is justified on the form."""

    CONSENT = "consent"
    LAWFUL = "lawful"


LAWFUL_BASES = tuple(b for b in LawfulBasis if b is not LawfulBasis.CONSENT)
"""The bases a supervisor may authorise a sharing on; consent is cited by its id instead."""


@dataclass(frozen=True)
class Outgoing:
    """A referral as the send form gives it, valid as the API would take it."""

    recipient: str
    respond_by: int | None
    body: Referral


def one(fields: Mapping[str, Sequence[str]], name: str) -> str:
    """The field's value, stripped; "" when absent (a field sent twice is not guessed at)."""
    values = fields.get(name, ())
    return values[0].strip() if len(values) == 1 else ""


def referral_of(
    fields: Mapping[str, Sequence[str]],
    *,
    author: Worker,
    time_zone: str,
    today: date,
) -> Outgoing:
    """The referral the send form describes, written by `author`; raises FormProblem.

    `respond_by` is the end of the chosen day in the reader's `time_zone`, not before `today`.
    """
    problems: list[str] = []
    recipient = one(fields, "recipient")
    if not recipient:
        problems.append("recipient")
    respond_by = _end_of(one(fields, "respond_by"), time_zone, today, problems)
    subject: dict[str, Any] = {
        "given_name": one(fields, "given_name"),
        "family_name": one(fields, "family_name"),
        "sex": one(fields, "sex"),
    }
    if one(fields, "birth_date"):
        subject["birth_date"] = one(fields, "birth_date")
    if one(fields, "estimated_age"):
        subject["estimated_age_years"] = one(fields, "estimated_age")
    body: dict[str, Any] = {
        "subject": subject,
        "reason_categories": [value.strip() for value in fields.get("reason", ())],
        "risk_level": one(fields, "risk_level"),
        "urgency": one(fields, "urgency"),
        "requested_service": one(fields, "requested_service"),
        "narrative": one(fields, "narrative"),
        "referring_worker": author.model_dump(mode="json", exclude_none=True),
    }
    if one(fields, "service_detail"):
        body["requested_service_detail"] = one(fields, "service_detail")
    basis = one(fields, "basis")
    if basis == Basis.CONSENT:
        body["consent_ref"] = one(fields, "consent_id")
    elif basis == Basis.LAWFUL:
        body["lawful_basis"] = one(fields, "lawful_basis")
        body["justification"] = one(fields, "justification")
        body["authorised_by"] = {"name": one(fields, "authorised_by"), "role": "Supervisor"}
    else:
        problems.append("basis")
    try:
        referral = Referral.model_validate(body)
    except ValidationError as error:
        raise FormProblem(problems + _fields_of(error)) from None
    if problems:
        raise FormProblem(problems)
    return Outgoing(recipient, respond_by, referral)


def _end_of(text: str, time_zone: str, today: date, problems: list[str]) -> int | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        problems.append("respond_by")
        return None
    # The end of a day in 9999 west of UTC can fall in year 10000 in UTC or in a reader's
    # zone, which no datetime holds: every page showing the deadline would fail. So the
    # last year `date` holds is refused whole (a deadline nobody means).
    if day < today or day.year >= LAST_YEAR:
        problems.append("respond_by")
        return None
    end = datetime.combine(day, time(23, 59, 59), tzinfo=ZoneInfo(time_zone))
    return int(end.timestamp())


def _fields_of(error: ValidationError) -> list[str]:
    found: list[str] = []
    for problem in field_errors(error.errors(include_input=False)):
        location = tuple(str(part) for part in problem.loc if not isinstance(part, int))
        for length in range(len(location), -1, -1):
            mapped = _SEND_FIELDS.get(location[:length])
            if mapped is not None:
                found += mapped
                break
    return found or ["basis"]


class Action(StrEnum):
    """The answers a person gives on the message page."""

    ACCEPT = "accept"
    DECLINE = "decline"
    REDIRECT = "redirect"
    PLAN = "plan"
    COMPLETE = "complete"


STATUS: Mapping[Action, AckStatus] = {
    Action.ACCEPT: AckStatus.ACCEPTED,
    Action.DECLINE: AckStatus.DECLINED,
    Action.REDIRECT: AckStatus.REDIRECTED,
    Action.PLAN: AckStatus.PLANNED,
    Action.COMPLETE: AckStatus.COMPLETED,
}


def answer_of(
    action: Action, message_id: str, fields: Mapping[str, Sequence[str]], by: Worker
) -> Acknowledgement:
    """The acknowledgement the answer form describes; raises FormProblem."""
    body: dict[str, Any] = {
        "status": STATUS[action].value,
        "answers": message_id,
        "responded_by": by.model_dump(mode="json", exclude_none=True),
    }
    if one(fields, "note"):
        body["note"] = one(fields, "note")
    problems: list[str] = []
    if action in (Action.DECLINE, Action.REDIRECT):
        category = one(fields, "reason_category")
        if category not in set(AckReasonCategory):
            problems.append("reason_category")
        body["reason"] = {"category": category} | _text(fields, "reason_text")
    if action is Action.REDIRECT:
        body["redirected_to"] = one(fields, "to")
    if action is Action.PLAN:
        # Blank or too long: the model refuses it, and the field is named below.
        body["plan"] = one(fields, "plan")
    if action is Action.COMPLETE:
        category = one(fields, "outcome")
        if category not in set(OutcomeCategory):
            problems.append("outcome")
        body["outcome"] = {"category": category} | _text(fields, "outcome_text")
    if problems:
        raise FormProblem(problems)
    try:
        return Acknowledgement.model_validate(body)
    except ValidationError as error:
        names = {"reason": "reason_text", "outcome": "outcome_text", "redirected_to": "to"}
        fault = [
            names.get(str(problem.loc[0]), str(problem.loc[0])) if problem.loc else "note"
            for problem in field_errors(error.errors(include_input=False))
        ]
        raise FormProblem(fault) from None


def _text(fields: Mapping[str, Sequence[str]], name: str) -> dict[str, str]:
    text = one(fields, name)
    return {"text": text} if text else {}
