"""Primero's consent fields as Caselink's sharing basis: a Consent, or a lawful basis (pure).

Primero gates a referral or transfer on the case's flags unless the request says
`consent_overridden` (a permission of its own there). Here:

- `disclosure_other_orgs` (both kinds) and `consent_for_services` (referrals) true: a
  canonical Consent is recorded in the gateway's register, scoped to the recipient agency
  and the purpose the gateway's rules derive from the message (`sharing_purpose`: a
  transfer is case transfer, a referral for an assessment is assessment, any other
  referral service provision), from today for `valid_days`, given by `consent_source`
  (`child` is the child, named as the case names them; a parent, guardian or caregiver is
  named by `consent_source_name`, a Caselink addition, or said not to be named); the body
  cites it. The flags stand for one consent given once: the adapter records it once per
  case, recipient and purpose (`consent_id_of`) and cites it again after, so a withdrawal
  or its expiry holds.
- `consent_overridden` true: no consent; the lawful basis is the child's protection from
  significant harm, justified by the request's `notes` and authorised by the signed-in
  user, who must be a supervisor.
- Anything else: refused, Primero's 422 with `detail: "consent"`; so is a send the
  gateway's rules refuse (`refused_by_gateway`: the rule's slug as the message key).
"""

import hashlib
import uuid
from datetime import date, timedelta

from adapters.social.cases import CaseFields, subject_of
from adapters.social.errors import CONSENT_REFUSED, PrimeroError, invalid
from schemas.common import LawfulBasis, SharingBasis, Worker
from schemas.consent import (
    Consent,
    ConsentGiver,
    ConsentRelation,
    ConsentScope,
    DataCategory,
    Purpose,
)
from schemas.kinds import ConsentStatus, MessageKind
from schemas.referral import Referral
from schemas.transfer import Transfer

_RELATION = {
    "child": ConsentRelation.SELF,
    "self": ConsentRelation.SELF,
    "parent": ConsentRelation.PARENT,
    "mother": ConsentRelation.PARENT,
    "father": ConsentRelation.PARENT,
    "both": ConsentRelation.PARENT,
    "guardian": ConsentRelation.GUARDIAN,
    "legal_guardian": ConsentRelation.GUARDIAN,
    "caregiver": ConsentRelation.CAREGIVER,
}
_CATEGORIES = [DataCategory.IDENTITY, DataCategory.FAMILY, DataCategory.CASE_NOTES]


def refused(key: str) -> PrimeroError:
    return PrimeroError(422, [key], CONSENT_REFUSED)


def refused_by_gateway(reason: str) -> PrimeroError:
    """The 422 for a send the gateway's consent rules refused, `reason` being its slug
    (`consent_withdrawn`, `consent_expired`...): a slug, never the consent's content."""
    return refused(f"transition.errors.{reason}")


def consented(fields: CaseFields, kind: MessageKind) -> bool:
    """Primero's gate for a non-GBV case: disclosure, and for a referral consent to services."""
    if not fields.disclosure_other_orgs:
        return False
    return kind is not MessageKind.REFERRAL or bool(fields.consent_for_services)


def override(notes: str | None, *, supervisor: bool, by: Worker) -> SharingBasis:
    """The lawful basis of `consent_overridden`; raises PrimeroError 422 (`consent`)."""
    if not supervisor:
        raise refused("transition.errors.consent_override_needs_supervisor")
    if notes is None:
        raise invalid("notes", "transition.errors.consent_override_needs_notes")
    return SharingBasis(
        lawful_basis=LawfulBasis.CHILD_PROTECTION_SIGNIFICANT_HARM,
        justification=notes,
        authorised_by=by,
    )


def giver_of(fields: CaseFields) -> ConsentGiver:
    """Who gave the consent, from `consent_source` (unknown sources are `other`)."""
    source = (fields.consent_source or "").lower()
    relation = _RELATION.get(source, ConsentRelation.OTHER)
    if relation is ConsentRelation.SELF:
        subject = subject_of(fields)
        return ConsentGiver(name=f"{subject.given_name} {subject.family_name}", relation=relation)
    name = fields.consent_source_name or f"{relation.value} (not named in Primero)"
    return ConsentGiver(name=name, relation=relation)


def consent_of(
    fields: CaseFields,
    *,
    kind: MessageKind,
    purpose: Purpose,
    recipient: str,
    consent_id: str,
    today: date,
    valid_days: int,
    by: Worker,
) -> Consent:
    """The Consent the case's flags stand for, for a `kind` sent to `recipient` for `purpose`;
    raises PrimeroError 422 (`consent`) without it."""
    if not consented(fields, kind):
        raise refused("transition.errors.consent")
    return Consent(
        consent_id=consent_id,
        subject=subject_of(fields),
        given_by=giver_of(fields),
        scope=ConsentScope(agencies=[recipient], purposes=[purpose], data_categories=_CATEGORIES),
        valid_from=today,
        valid_until=today + timedelta(days=valid_days),
        status=ConsentStatus.GRANTED,
        recorded_by=by,
    )


def consent_id_of(case_id: str, recipient: str, purpose: Purpose, valid_from: date) -> str:
    """The id of the consent a case's flags give for `recipient` and `purpose` from
    `valid_from`: the same inputs, the same id, so recording it again after a crash
    between the register's commit and the case's is the register's no-op, not a second
    consent. A UUID4 in form (the schema's pattern), from SHA-256 of the inputs."""
    text = f"caselink/primero-consent/v1\n{case_id}\n{recipient}\n{purpose.value}\n{valid_from}"
    digest = hashlib.sha256(text.encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


PENDING = SharingBasis(consent_ref="00000000-0000-4000-8000-000000000000")
"""The basis a body is drafted with before the consent it cites is known (see `citing`)."""


def citing(body: Referral | Transfer, consent_id: str) -> Referral | Transfer:
    """`body` citing the consent `consent_id`: its consent_ref, nothing else changed."""
    return body.model_copy(update={"consent_ref": consent_id})
