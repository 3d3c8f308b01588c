"""One referral lifecycle: the stages of a referral or transfer and who may move them (pure).

Gateways enforce it (`allows`), the tracker and a sender's view of what it sent observe it
(`observe`, `fold`); `fhir_status` names each stage in base FHIR R4 Task.status codes.
Consent withdrawals are not here: they have no stages at a gateway (their inbox entries are
informational), and the tracker's pending / acknowledged count stays its own.

The table (`MOVES`), with the author of each target stage (`author`):

    referral: sent -> delivered (recipient: `received`, sent by its gateway) | withdrawn
              delivered -> accepted | declined | redirected (recipient) | withdrawn (sender)
              accepted -> planned | completed (recipient) | withdrawn (sender)
              planned -> completed (recipient) | withdrawn (sender)
    transfer: the same, except accepted -> planned | completed and planned -> completed only

Decisions where the gateway and the tracker disagreed, or left a case implicit:

- A transfer cannot be withdrawn once accepted (the gateway allowed it, the tracker did not).
  DOMAIN.md: a transfer moves ownership on acceptance; the case is then the recipient's, and
  the sender taking it back alone would leave no agency responsible. A referral only shares
  access, so its sender may withdraw it until it is finished (Primero: the sender can revoke;
  FHIR: the requester sets cancelled), accepted included.
- Final stages, for both kinds and both parties: declined, redirected, completed, withdrawn.
  They are FHIR's terminal rejected, completed and cancelled; nothing moves a thread out of
  them (a late withdrawal after completion, a `received` after an answer: ignored).
- Only the sender withdraws; only the recipient says received, accepted, declined,
  redirected or completed (FHIR's closed-loop referral: the requester sets cancelled, the
  performer the rest). A status from the wrong party, or from a third agency, moves nothing.
- Redirected is a refusal that points elsewhere: FHIR rejected (with a business status),
  final, and like declined only from delivered, before any acceptance (FHIR: rejected is
  decided "prior to performing any action"; Primero: accept/reject only from in_progress).
- Completed needs accepted (Primero: done only after accepted; FHIR's Task reaches completed
  through accepted and in-progress): a recipient's gateway refuses to complete a message it
  has not accepted.
- Planned is the recipient recording its plan for an accepted referral or transfer (FHIR
  in-progress: the performer has started). The law's outcome deadline asks for the outcome
  "or its plan recorded", so planned meets it; it is not final: completion follows it, and
  a referral's sender may still withdraw. It comes after accepted only and once (a second
  plan is not a move; the plan is the one recorded), never after completed. A transfer's
  case is its recipient's while planned as while accepted (`TAKEN`).
- Skipped steps are enforced by gateways but observed by the tracker and by a sender's view
  of its sent message: an answer that the recipient could only have given after steps not
  seen (any answer before `received`; planned or completed before accepted) moves the
  thread as if the missing steps of that same party had been seen (`observe`). Such a
  message cannot come from a conforming recipient gateway, whose own state then never
  differs; raising a false alarm over a lost or foreign message would help no one. Steps of
  the other party are never implied: a sender's withdrawal is taken only from a stage it is
  allowed from.
- The recipient's inbox has no `sent`: a message in its inbox is delivered (its `new`).
- Who holds a transferred case (`holder`): the sender until the recipient accepts; a
  declined, redirected or withdrawn transfer stays with (returns to) its sender. A transfer
  not taken over and not withdrawn is in limbo (`in_limbo`), what the tracker lists with
  its age.
- Messages of one instant are ordered by `rank` (received, then answers, then planned, then
  completed, then withdrawn), by the tracker and by a sender's view alike.
"""

from broker.lifecycle.holder import LIMBO, TAKEN, agency_of, holder, holding_party, in_limbo
from broker.lifecycle.moves import (
    ANSWERS,
    AWAITING_ANSWER,
    FINAL,
    MOVES,
    REFUSALS,
    allows,
    fold,
    observe,
    rank,
    sources,
)
from broker.lifecycle.stages import (
    FhirTaskStatus,
    Party,
    Stage,
    UnknownAckStatus,
    author,
    fhir_status,
    speaker,
    stage_of,
    status_of,
)

__all__ = [
    "ANSWERS",
    "AWAITING_ANSWER",
    "FINAL",
    "LIMBO",
    "MOVES",
    "REFUSALS",
    "TAKEN",
    "FhirTaskStatus",
    "Party",
    "Stage",
    "UnknownAckStatus",
    "agency_of",
    "allows",
    "author",
    "fhir_status",
    "fold",
    "holder",
    "holding_party",
    "in_limbo",
    "observe",
    "rank",
    "sources",
    "speaker",
    "stage_of",
    "status_of",
]
