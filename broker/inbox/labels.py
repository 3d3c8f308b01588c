"""The words the inbox pages show for field names and how far a sent message got, in
English, marked for translation (`N_`) and translated where they are shown (`_()` in a
template). Values of the closed vocabularies (`neglect`) have their words in the vocabulary
both apps share (`broker.look.vocabulary`).

A body's field names (`given_name`) are ids: a person reads their labels. A field with no
label here (a later version's) is shown by its name, never dropped; a test walks every
body model to keep this complete.
"""

from collections.abc import Mapping
from types import MappingProxyType

from broker.look import N_
from broker.look.vocabulary import word

FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "address": N_("Address"),
        "agencies": N_("Agencies"),
        "agency_kinds": N_("Kinds of agency"),
        "answers": N_("Answers message"),
        "assessments": N_("Assessments"),
        "attachments": N_("Attachments"),
        "authorised_by": N_("Authorised by"),
        "birth_date": N_("Date of birth"),
        "case_plan": N_("Case plan"),
        "case_summary": N_("Case summary"),
        "category": N_("Category"),
        "consent_id": N_("Consent id"),
        "consent_ref": N_("Consent"),
        "content_type": N_("File type"),
        "country": N_("Country"),
        "court_order": N_("Court order"),
        "data": N_("Size"),
        "data_categories": N_("Data categories"),
        "date": N_("Date"),
        "description": N_("Description"),
        "email": N_("Email"),
        "estimated_age_years": N_("Estimated age (years)"),
        "family_name": N_("Family name"),
        "filename": N_("File name"),
        "given_by": N_("Given by"),
        "given_name": N_("Given name"),
        "goals": N_("Goals"),
        "guardians": N_("Guardians"),
        "justification": N_("Justification"),
        "languages": N_("Languages"),
        "lawful_basis": N_("Lawful basis"),
        "lines": N_("Street address"),
        "locality": N_("Town or city"),
        "name": N_("Name"),
        "narrative": N_("Account of concern"),
        "note": N_("Note"),
        "other_names": N_("Other names"),
        "outcome": N_("Outcome"),
        "parental_responsibility": N_("Parental responsibility"),
        "plan": N_("Plan"),
        "phone": N_("Phone"),
        "postal_code": N_("Postal code"),
        "purposes": N_("Purposes"),
        "reason": N_("Reason"),
        "reason_categories": N_("Reasons for concern"),
        "reason_detail": N_("Reason in detail"),
        "receiving_worker": N_("Receiving worker"),
        "recorded_by": N_("Recorded by"),
        "redirected_to": N_("Redirected to"),
        "referring_worker": N_("Referring worker"),
        "region": N_("Region"),
        "relation": N_("Relation to the child"),
        "requested_service": N_("Service requested"),
        "requested_service_detail": N_("Service requested in detail"),
        "responded_by": N_("Answered by"),
        "risk_level": N_("Risk level"),
        "role": N_("Role"),
        "scope": N_("Scope"),
        "sex": N_("Sex"),
        "status": N_("Status"),
        "subject": N_("Child"),
        "summary": N_("Summary"),
        "target_date": N_("Target date"),
        "text": N_("Text"),
        "transferring_worker": N_("Transferring worker"),
        "type": N_("Type"),
        "urgency": N_("Urgency"),
        "valid_from": N_("Valid from"),
        "valid_until": N_("Valid until"),
        "withdrawn_at": N_("Withdrawn at"),
    }
)
"""Every field name of the message bodies (referral, transfer, consent, acknowledgement)."""


DELIVERY: Mapping[str, str] = MappingProxyType(
    {
        "queued": N_("Waiting to be sent"),
        "sent": N_("Sent, not yet delivered"),
        "delivered": N_("Delivered"),
    }
)
"""How far a sent message got (broker.inbox.views.Sent.delivery)."""


def field_label(name: str) -> str:
    """The English label of a body's field (translated where shown); the name itself if none."""
    return FIELDS.get(name, name)


def value_label(value: str) -> str:
    """The English word for a vocabulary's value (`broker.look.vocabulary`, shared with the
    dashboard; translated where shown); the value itself if none."""
    return word(value)
