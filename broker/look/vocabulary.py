"""One vocabulary for both apps: the words the coordinators' dashboard and the agencies'
inbox pages show for the wire values of the closed vocabularies (kinds, urgencies, states
and phases, reasons, outcomes, lawful bases...), in English, marked for translation (`N_`)
and translated where they are shown. One word per wire value: an agency and a coordinator
read the same word for the same thing, and translators translate it once.

A value with no word here (a later version's) is shown as it is, never dropped; tests walk
the body models and the tracker's phases to keep this complete.
"""

from collections.abc import Mapping
from types import MappingProxyType

from broker.look.languages import N_

WORDS: Mapping[str, str] = MappingProxyType(
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
        # a thread's phase as the tracker follows it, and its FHIR Task status
        "sent": N_("Sent, not yet delivered"),
        "delivered": N_("Delivered, not yet answered"),
        "pending": N_("Pending"),
        "acknowledged": N_("Acknowledged"),
        "requested": N_("Requested"),
        "in-progress": N_("In progress"),
        "rejected": N_("Rejected"),
        "cancelled": N_("Cancelled"),
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


def word(value: str) -> str:
    """The English word for a wire value (translated where shown); the value if none."""
    return WORDS.get(value, value)
