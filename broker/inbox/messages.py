"""The fixed messages the inbox pages show after a form: what was done, what went wrong, and
why the consent rules refused a referral, each in English marked for translation.

A status comes back in the query after a redirect (`?done=accepted`) as one of these keys:
an unknown key shows nothing, so no text of a request can be made to appear on a page.
"""

from collections.abc import Mapping
from types import MappingProxyType

from broker.gateway import consent_rules as rules
from broker.look import N_

DONE: Mapping[str, str] = MappingProxyType(
    {
        "accepted": N_("Accepted. The sender has been told."),
        "declined": N_("Declined. The sender has been told, with your reason."),
        "redirected": N_("Redirected. The sender has been told where to turn."),
        "planned": N_(
            "Plan recorded. The sender has been told; complete it with its outcome later."
        ),
        "completed": N_("Completed. The sender has been told the outcome."),
        "sent": N_("Sent. It is sealed and queued for the recipient."),
    }
)

PROBLEMS: Mapping[str, str] = MappingProxyType(
    {
        "invalid": N_("The answer was not sent: fill in every required field."),
        "not_allowed": N_(
            "The answer was not sent: this message cannot be answered that "
            "way now (it may have been answered already)."
        ),
        "not_sealed": N_("The answer was not sent: it could not be sealed for that agency."),
        "resent": N_("This form was sent already; it was not sent again."),
    }
)

_REFUSALS: Mapping[str, str] = MappingProxyType(
    {
        rules.CONSENT_NOT_RECORDED: N_(
            "Not sent: this consent id is not in your agency's consent register."
        ),
        rules.CONSENT_WITHDRAWN: N_("Not sent: this consent has been withdrawn."),
        rules.CONSENT_NOT_GRANTED: N_("Not sent: this consent was refused, not granted."),
        rules.CONSENT_NOT_YET_VALID: N_("Not sent: this consent is not valid yet."),
        rules.CONSENT_EXPIRED: N_("Not sent: this consent has expired."),
        rules.RECIPIENT_NOT_COVERED: N_(
            "Not sent: this consent does not cover sharing with that agency."
        ),
        rules.PURPOSE_NOT_COVERED: N_(
            "Not sent: this consent does not cover the service requested."
        ),
        rules.CONSENT_BASIS_WITHOUT_CONSENT: N_(
            "Not sent: sharing on the basis of consent needs the consent's id."
        ),
        rules.NOT_AUTHORISED: N_(
            "Not sent: sharing without consent must be authorised by a supervisor of your "
            "agency, named as they sign in or as their answers name them."
        ),
    }
)

CONSENT_REFUSALS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        rules.CONSENT_NOT_RECORDED: ("consent_id",),
        rules.CONSENT_WITHDRAWN: ("consent_id",),
        rules.CONSENT_NOT_GRANTED: ("consent_id",),
        rules.CONSENT_NOT_YET_VALID: ("consent_id",),
        rules.CONSENT_EXPIRED: ("consent_id",),
        rules.RECIPIENT_NOT_COVERED: ("consent_id", "recipient"),
        rules.PURPOSE_NOT_COVERED: ("consent_id", "requested_service"),
        rules.CONSENT_BASIS_WITHOUT_CONSENT: ("basis",),
        rules.NOT_AUTHORISED: ("authorised_by",),
    }
)
"""The form fields each refusal points at."""

_REFUSED = N_("Not sent: the consent rules refuse it.")


def refusal_message(reason: str) -> str:
    """The English message (translated where shown) for a ConsentRefused reason."""
    return _REFUSALS.get(reason, _REFUSED)
