"""Who holds a case now: the agency responsible for it at a stage of its thread (pure).

A transfer moves responsibility only on acceptance (DOMAIN.md: a transfer moves ownership on
acceptance; the sender stays responsible until then). Until the recipient accepts, and
after it declines or redirects, or the sender withdraws, the case is the sender's: a
declined transfer returns to its sender, never to nobody. A referral only shares access:
nobody's responsibility moves, so it has no holder.
"""

from broker.lifecycle.stages import Party, Stage
from schemas.kinds import MessageKind

TAKEN = frozenset({Stage.ACCEPTED, Stage.PLANNED, Stage.COMPLETED})
"""The stages in which a transferred case is the recipient's."""
LIMBO = frozenset({Stage.SENT, Stage.DELIVERED, Stage.DECLINED, Stage.REDIRECTED})
"""A transfer that has no new holder: awaiting an answer, or refused and back with its sender
(to be placed again). Withdrawn is not limbo: the sender chose to keep the case."""


def holding_party(kind: str | None, stage: Stage) -> Party | None:
    """The party holding the case of a `kind` thread at `stage`; None for any kind but a
    transfer (a referral or consent moves no responsibility)."""
    if kind != MessageKind.TRANSFER:
        return None
    return Party.RECIPIENT if stage in TAKEN else Party.SENDER


def holder(kind: str | None, stage: Stage, sender: str, recipient: str) -> str | None:
    """The agency holding the case of a `kind` thread at `stage` (`holding_party` named)."""
    return agency_of(holding_party(kind, stage), sender, recipient)


def agency_of(party: Party | None, sender: str, recipient: str) -> str | None:
    """The agency `party` names in a thread from `sender` to `recipient` (None for none)."""
    if party is None:
        return None
    return recipient if party is Party.RECIPIENT else sender


def in_limbo(kind: str | None, stage: Stage) -> bool:
    """Whether a thread is a transfer at a stage where no agency has taken the case over."""
    return kind == MessageKind.TRANSFER and stage in LIMBO
