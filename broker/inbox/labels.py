"""The words the inbox pages show for field names and closed vocabularies, in English,
marked for translation (`N_`) and translated where they are shown (`_()` in a template).

A body's field names (`given_name`) and values from closed vocabularies (`neglect`) are
ids: a person reads their labels. A value with no label here (a later version's word) is
shown as it is, never dropped; a test walks every body model to keep this complete.
"""

from collections.abc import Mapping
from types import MappingProxyType

from broker.look import N_

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

VALUES: Mapping[str, str] = MappingProxyType(
    {
        # kinds of message, urgencies, states and answers
        "referral": N_("Referral"),
        "transfer": N_("Transfer"),
        "consent": N_("Consent"),
        "acknowledgement": N_("Answer"),
        "alert": N_("Alert"),
        "emergency": N_("Emergency"),
        "high": N_("High"),
        "normal": N_("Normal"),
        "low": N_("Low"),
        "new": N_("New"),
        "received": N_("Received"),
        "accepted": N_("Accepted"),
        "planned": N_("Plan recorded"),
        "declined": N_("Declined"),
        "redirected": N_("Redirected"),
        "completed": N_("Completed"),
        "withdrawn": N_("Withdrawn"),
        "informational": N_("For information"),
        "granted": N_("Granted"),
        "refused": N_("Refused"),
        # reasons for concern
        "physical_abuse": N_("Physical abuse"),
        "neglect": N_("Neglect"),
        "sexual_abuse": N_("Sexual abuse"),
        "emotional_abuse": N_("Emotional abuse"),
        "domestic_violence_exposure": N_("Exposure to domestic violence"),
        "exploitation": N_("Exploitation"),
        "health_need": N_("Health need"),
        "school_absence": N_("School absence"),
        "other": N_("Other"),
        # risk levels
        "medium": N_("Medium"),
        "immediate": N_("Immediate"),
        # services
        "assessment": N_("Assessment"),
        "medical_examination": N_("Medical examination"),
        "forensic_interview": N_("Forensic interview"),
        "counselling": N_("Counselling"),
        "shelter": N_("Shelter"),
        "education_support": N_("Education support"),
        # sex
        "female": N_("Female"),
        "male": N_("Male"),
        "unknown": N_("Unknown"),
        # guardians and those who consent
        "mother": N_("Mother"),
        "father": N_("Father"),
        "parent": N_("Parent"),
        "step_parent": N_("Step-parent"),
        "grandparent": N_("Grandparent"),
        "sibling": N_("Sibling"),
        "other_relative": N_("Other relative"),
        "foster_carer": N_("Foster carer"),
        "legal_guardian": N_("Legal guardian"),
        "self": N_("The child"),
        "guardian": N_("Guardian"),
        "caregiver": N_("Caregiver"),
        # lawful bases
        "vital_interests": N_("Vital interests"),
        "legal_obligation": N_("Legal obligation"),
        "public_task": N_("Public task"),
        "child_protection_significant_harm": N_("Child protection: significant harm"),
        # why declined, redirected or withdrawn
        "outside_remit": N_("Outside our remit"),
        "insufficient_information": N_("Not enough information"),
        "no_capacity": N_("No capacity"),
        "no_consent_or_lawful_basis": N_("No consent or lawful basis"),
        "child_not_in_area": N_("Child not in our area"),
        "already_known": N_("Already known to us"),
        "duplicate": N_("Duplicate"),
        "better_placed_elsewhere": N_("Better placed elsewhere"),
        "sent_in_error": N_("Sent in error"),
        "no_longer_needed": N_("No longer needed"),
        # outcomes
        "service_provided": N_("Service provided"),
        "referred_on": N_("Referred on"),
        "no_further_action": N_("No further action"),
        "child_not_found": N_("Child not found"),
        # transfers
        "family_moved": N_("Family moved"),
        "service_better_placed": N_("Another service is better placed"),
        "age_transition": N_("Age transition"),
        "not_started": N_("Not started"),
        "in_progress": N_("In progress"),
        "achieved": N_("Achieved"),
        "not_achieved": N_("Not achieved"),
        "discontinued": N_("Discontinued"),
        # consents
        "service_provision": N_("Service provision"),
        "case_transfer": N_("Case transfer"),
        "safety_planning": N_("Safety planning"),
        "research_anonymised": N_("Anonymised research"),
        "identity": N_("Identity"),
        "contact": N_("Contact details"),
        "health": N_("Health"),
        "education": N_("Education"),
        "family": N_("Family"),
        "case_notes": N_("Case notes"),
        "police_records": N_("Police records"),
        "police": N_("Police"),
        "social_services": N_("Social services"),
        "coordinator": N_("Coordinator"),
        # the signed-in person's role
        "caseworker": N_("caseworker"),
        "supervisor": N_("supervisor"),
    }
)
"""Every value of the closed vocabularies a page shows, by its wire value."""


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
    """The English label of a vocabulary's value (translated where shown); the value if none."""
    return VALUES.get(value, value)
