"""The body registry: which model carries which message kind, and what the header repeats.

The sealed header repeats a few categories from the body (urgency, ack or consent status,
the answered message id, the lawful basis of a sharing without consent) so the tracker can
follow threads without decrypting. The
`header_*` helpers compute them from the body so a sender cannot make the two disagree.
"""

from collections.abc import Mapping
from types import MappingProxyType

from pydantic import BaseModel

from schemas.acknowledgement import Acknowledgement
from schemas.alert import Alert
from schemas.common import SharingBasis
from schemas.consent import Consent
from schemas.kinds import LawfulBasis, MessageKind, Urgency
from schemas.referral import Referral
from schemas.transfer import Transfer

Body = Referral | Transfer | Consent | Acknowledgement | Alert

BODY_MODELS: Mapping[MessageKind, type[BaseModel]] = MappingProxyType(
    {
        MessageKind.REFERRAL: Referral,
        MessageKind.TRANSFER: Transfer,
        MessageKind.CONSENT: Consent,
        MessageKind.ACKNOWLEDGEMENT: Acknowledgement,
        MessageKind.ALERT: Alert,
    }
)


def body_model(kind: MessageKind) -> type[BaseModel]:
    """The body model of `kind`; raises KeyError for a kind without one."""
    return BODY_MODELS[kind]


def _check(kind: MessageKind, body: BaseModel) -> None:
    if type(body) is not body_model(kind):
        raise TypeError(f"a {kind.value} message needs a {body_model(kind).__name__} body")


def header_status(kind: MessageKind, body: BaseModel) -> str | None:
    """The header `status`: ack status for acknowledgements, consent status for consents.

    None for other kinds. Raises TypeError when `body` is not the model of `kind`.
    """
    _check(kind, body)
    if isinstance(body, Acknowledgement | Consent):
        return body.status.value
    return None


def header_urgency(kind: MessageKind, body: BaseModel) -> Urgency | None:
    """The header `urgency`: the referral's urgency, None for other kinds.

    Raises TypeError when `body` is not the model of `kind`.
    """
    _check(kind, body)
    return body.urgency if isinstance(body, Referral) else None


def header_in_reply_to(kind: MessageKind, body: BaseModel) -> str | None:
    """The header `in_reply_to`: the message an acknowledgement answers, None otherwise.

    Raises TypeError when `body` is not the model of `kind`.
    """
    _check(kind, body)
    return body.answers if isinstance(body, Acknowledgement) else None


def header_basis(kind: MessageKind, body: BaseModel) -> LawfulBasis | None:
    """The header `basis`: the lawful basis a referral or transfer declares instead of a
    consent; None when it cites a consent, and for other kinds.

    Raises TypeError when `body` is not the model of `kind`.
    """
    _check(kind, body)
    return body.lawful_basis if isinstance(body, SharingBasis) else None
