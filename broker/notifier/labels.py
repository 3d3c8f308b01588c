"""The words an email shows for the wire's categories, as English messages marked for
translation (`N_`): the templates translate them into each recipient's language.

A category with no label here (one that is never emailed) is shown as its slug.
"""

from broker.look import N_
from schemas.alert import AlertLevel, AlertReason
from schemas.kinds import LawfulBasis, MessageKind, Urgency

LEVELS = {
    AlertLevel.REMINDER.value: N_("Reminder"),
    AlertLevel.ESCALATION.value: N_("Escalation"),
    AlertLevel.DECLINED.value: N_("Declined"),
    AlertLevel.FLAGGED.value: N_("For review"),
    AlertLevel.CAPACITY.value: N_("Capacity"),
}

# The reasons that are emailed (broker/notifier/rules.py).
REASONS = {
    AlertReason.DELIVERY_OVERDUE.value: N_("delivery overdue"),
    AlertReason.RESPONSE_OVERDUE.value: N_("response overdue"),
    AlertReason.COMPLETION_OVERDUE.value: N_("completion overdue"),
    AlertReason.DECLINED_EMERGENCY.value: N_("emergency referral declined"),
    AlertReason.SHARED_WITHOUT_CONSENT.value: N_("shared without consent"),
    AlertReason.DEAD_LETTERS_NEAR_FULL.value: N_("dead-letter queue near full"),
}

KINDS = {
    MessageKind.REFERRAL.value: N_("referral"),
    MessageKind.TRANSFER.value: N_("transfer"),
    MessageKind.CONSENT.value: N_("consent"),
    MessageKind.ACKNOWLEDGEMENT.value: N_("acknowledgement"),
    MessageKind.ALERT.value: N_("alert"),
}

URGENCIES = {
    Urgency.EMERGENCY.value: N_("emergency"),
    Urgency.HIGH.value: N_("high"),
    Urgency.NORMAL.value: N_("normal"),
    Urgency.LOW.value: N_("low"),
}

# A sharing without consent names its lawful basis in the alert's `detail`.
BASES = {
    LawfulBasis.CONSENT.value: N_("consent"),
    LawfulBasis.VITAL_INTERESTS.value: N_("vital interests"),
    LawfulBasis.LEGAL_OBLIGATION.value: N_("legal obligation"),
    LawfulBasis.PUBLIC_TASK.value: N_("public task"),
    LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM.value: N_("child protection: significant harm"),
}


def label(labels: dict[str, str], slug: str) -> str:
    """The English label of `slug`, or the slug with spaces for underscores."""
    return labels.get(slug, slug.replace("_", " "))
