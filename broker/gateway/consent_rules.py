"""When case data may leave the agency: the sending gateway's consent rules (pure).

A referral or transfer (a `SharingBasis` body) is sent only when

(a) its `consent_ref` names a consent in this agency's register (`ConsentRecord`) that is
    granted, not withdrawn, in date on the day of sending (UTC; `valid_from` and
    `valid_until` inclusive), and covers the recipient (named in `agencies`, or its kind, as
    the directory gives it, in `agency_kinds`) and the purpose of the message; or
(b) it declares a `lawful_basis` other than `consent` (the body already holds a
    justification and an `authorised_by` worker) and `authorised_by.name` is a supervisor
    of this gateway's users file (their sign-in name, or the display name their answers
    carry).

The purpose is derived from the message, never declared by the sender: a transfer is
`case_transfer`; a referral asking for an assessment is `assessment`, any other referral
`service_provision`. Data categories are recorded with a consent but not checked here:
a body does not declare the categories it holds.

Everything else raises ConsentRefused, whose `reason` is one of the slugs below and whose
message is one line of ids and categories (never a name); the gateway checks before
sealing, so a refused message is neither sealed nor stored. Other kinds pass.
"""

from collections.abc import Collection, Mapping
from datetime import date

from broker.errors import CaselinkError
from broker.gateway.records import ConsentRecord
from broker.gateway.users import GatewayUser, Role
from schemas.common import SharingBasis
from schemas.consent import Consent, Purpose
from schemas.kinds import AgencyKind, ConsentStatus, LawfulBasis, MessageKind
from schemas.referral import Referral, RequestedService

CONSENT_NOT_RECORDED = "consent_not_recorded"
CONSENT_WITHDRAWN = "consent_withdrawn"
CONSENT_NOT_GRANTED = "consent_not_granted"  # recorded as refused
CONSENT_NOT_YET_VALID = "consent_not_yet_valid"
CONSENT_EXPIRED = "consent_expired"
RECIPIENT_NOT_COVERED = "recipient_not_covered"
PURPOSE_NOT_COVERED = "purpose_not_covered"
CONSENT_BASIS_WITHOUT_CONSENT = "consent_basis_without_consent"  # lawful_basis "consent"
NOT_AUTHORISED = "not_authorised_by_supervisor"
# A consent message withdrawing a consent, sent by hand: withdrawals go through the register.
WITHDRAWAL_NOT_THROUGH_REGISTER = "withdrawal_not_through_register"

REASONS = frozenset(
    {
        CONSENT_NOT_RECORDED,
        CONSENT_WITHDRAWN,
        CONSENT_NOT_GRANTED,
        CONSENT_NOT_YET_VALID,
        CONSENT_EXPIRED,
        RECIPIENT_NOT_COVERED,
        PURPOSE_NOT_COVERED,
        CONSENT_BASIS_WITHOUT_CONSENT,
        NOT_AUTHORISED,
        WITHDRAWAL_NOT_THROUGH_REGISTER,
    }
)
"""Every slug ConsentRefused.reason takes."""

SHARING_KINDS = frozenset({MessageKind.REFERRAL, MessageKind.TRANSFER})


class ConsentError(CaselinkError):
    """Base of the consent register's and the sending rules' refusals."""

    reason = "consent_error"


class ConsentRefused(ConsentError):
    """A referral or transfer may not be sent: `reason` says which rule (one of REASONS)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def sharing_purpose(kind: MessageKind, body: SharingBasis) -> Purpose:
    """The purpose a referral or transfer shares data for (see the module docstring)."""
    if kind is MessageKind.TRANSFER:
        return Purpose.CASE_TRANSFER
    if isinstance(body, Referral) and body.requested_service is RequestedService.ASSESSMENT:
        return Purpose.ASSESSMENT
    return Purpose.SERVICE_PROVISION


def supervisor_names(users: Mapping[str, GatewayUser]) -> frozenset[str]:
    """The names under which a supervisor may authorise a sharing: sign-in and display names."""
    supervisors = [user for user in users.values() if user.role is Role.SUPERVISOR]
    return frozenset(
        {user.name for user in supervisors} | {user.worker.name for user in supervisors}
    )


def check_sharing(
    body: object,
    *,
    kind: MessageKind,
    recipient: str,
    recipient_kind: AgencyKind | None,
    consent: ConsentRecord | None,
    supervisors: Collection[str],
    today: date,
) -> None:
    """Raise ConsentRefused unless `body`, of `kind`, may go to `recipient` (see module).

    `consent` is the register's record of `body.consent_ref` (None: not recorded);
    `recipient_kind` the recipient's kind in the directory (None: not in it); `today` the
    sending day (UTC). A consent message (it names the child and who consented) goes only
    to an agency its own scope covers, and never as a withdrawal, which the register sends
    to every agency that received data under the consent. Other kinds always pass.
    """
    if kind is MessageKind.CONSENT and isinstance(body, Consent):
        _check_notice(body, recipient, recipient_kind)
        return
    if kind not in SHARING_KINDS or not isinstance(body, SharingBasis):
        return
    if body.consent_ref is None:
        _check_lawful_basis(body, kind, recipient, supervisors)
        return
    _check_consent(
        body.consent_ref, consent, recipient, recipient_kind, sharing_purpose(kind, body), today
    )


def _check_notice(consent: Consent, recipient: str, recipient_kind: AgencyKind | None) -> None:
    consent_id = consent.consent_id
    if consent.status is ConsentStatus.WITHDRAWN:
        raise ConsentRefused(
            WITHDRAWAL_NOT_THROUGH_REGISTER,
            f"consent {consent_id} is withdrawn through the register "
            "(POST /v1/consents/records/{id}/withdraw), which tells every agency that received "
            "data under it",
        )
    _check_covered(
        consent_id, consent.scope.agencies, consent.scope.agency_kinds, recipient, recipient_kind
    )


def _check_covered(
    consent_id: str,
    agencies: Collection[str],
    kinds: Collection[str],
    recipient: str,
    recipient_kind: AgencyKind | None,
) -> None:
    """Refuse unless `recipient` is named or its kind listed (kinds compare as strings)."""
    by_kind = recipient_kind is not None and recipient_kind.value in kinds
    if not (recipient in agencies or by_kind):
        kind = recipient_kind.value if recipient_kind is not None else "unknown kind"
        raise ConsentRefused(
            RECIPIENT_NOT_COVERED, f"consent {consent_id} does not cover {recipient} ({kind})"
        )


def _check_lawful_basis(
    body: SharingBasis, kind: MessageKind, recipient: str, supervisors: Collection[str]
) -> None:
    what = f"a {kind.value} to {recipient}"
    if body.lawful_basis is LawfulBasis.CONSENT:
        raise ConsentRefused(
            CONSENT_BASIS_WITHOUT_CONSENT,
            f"{what} on the basis of consent must cite the consent (consent_ref)",
        )
    if body.authorised_by is None or body.authorised_by.name not in supervisors:
        # The worker's name is not repeated: it may be anyone's, typed by the sender.
        raise ConsentRefused(
            NOT_AUTHORISED,
            f"{what} under lawful basis {body.lawful_basis} must be authorised by a "
            "supervisor of this gateway",
        )


def _check_consent(
    consent_id: str,
    consent: ConsentRecord | None,
    recipient: str,
    recipient_kind: AgencyKind | None,
    purpose: Purpose,
    today: date,
) -> None:
    if consent is None:
        raise ConsentRefused(CONSENT_NOT_RECORDED, f"consent {consent_id} is not recorded here")
    if consent.status == ConsentStatus.WITHDRAWN:
        raise ConsentRefused(CONSENT_WITHDRAWN, f"consent {consent_id} has been withdrawn")
    if consent.status != ConsentStatus.GRANTED:
        raise ConsentRefused(CONSENT_NOT_GRANTED, f"consent {consent_id} was not granted")
    if today < consent.valid_from:
        raise ConsentRefused(
            CONSENT_NOT_YET_VALID, f"consent {consent_id} is valid from {consent.valid_from}"
        )
    if today > consent.valid_until:
        raise ConsentRefused(
            CONSENT_EXPIRED, f"consent {consent_id} expired after {consent.valid_until}"
        )
    _check_covered(consent_id, consent.agencies, consent.agency_kinds, recipient, recipient_kind)
    if purpose.value not in consent.purposes:
        raise ConsentRefused(
            PURPOSE_NOT_COVERED, f"consent {consent_id} does not cover the purpose {purpose}"
        )
