"""Which stage a thread may move to, enforced by gateways, observed by the tracker."""

from collections.abc import Iterable, Mapping

from broker.lifecycle.stages import Party, Stage, author, stage_of
from schemas.kinds import AckStatus, MessageKind

_S = Stage
_REFERRAL: Mapping[Stage, frozenset[Stage]] = {
    _S.SENT: frozenset({_S.DELIVERED, _S.WITHDRAWN}),
    _S.DELIVERED: frozenset({_S.ACCEPTED, _S.DECLINED, _S.REDIRECTED, _S.WITHDRAWN}),
    _S.ACCEPTED: frozenset({_S.PLANNED, _S.COMPLETED, _S.WITHDRAWN}),
    _S.PLANNED: frozenset({_S.COMPLETED, _S.WITHDRAWN}),
}
MOVES: Mapping[MessageKind, Mapping[Stage, frozenset[Stage]]] = {
    MessageKind.REFERRAL: _REFERRAL,
    # Once accepted the case is the recipient's: the sender cannot take it back alone.
    MessageKind.TRANSFER: {
        **_REFERRAL,
        _S.ACCEPTED: frozenset({_S.PLANNED, _S.COMPLETED}),
        _S.PLANNED: frozenset({_S.COMPLETED}),
    },
}
"""Allowed targets by kind and current stage; a stage absent here is final."""
_BY_NAME: Mapping[str, Mapping[Stage, frozenset[Stage]]] = {
    kind.value: moves for kind, moves in MOVES.items()
}

FINAL = frozenset({_S.DECLINED, _S.REDIRECTED, _S.COMPLETED, _S.WITHDRAWN})
AWAITING_ANSWER = frozenset({_S.SENT, _S.DELIVERED})
"""Stages in which the recipient has not yet accepted, declined or redirected."""
REFUSALS = frozenset({_S.DECLINED, _S.REDIRECTED})
"""Answers that leave the case with the sender: a redirect as much as a decline."""
ANSWERS = frozenset({_S.ACCEPTED, _S.PLANNED, _S.DECLINED, _S.REDIRECTED, _S.COMPLETED})
"""The recipient's answers: what its people choose (`received` its gateway sends itself)."""

# Breaks ties between messages of one instant: the further step comes later.
_RANK: Mapping[str, int] = {
    AckStatus.RECEIVED: 1,
    AckStatus.ACCEPTED: 2,
    AckStatus.DECLINED: 2,
    AckStatus.REDIRECTED: 2,
    AckStatus.PLANNED: 3,
    AckStatus.COMPLETED: 4,
    AckStatus.WITHDRAWN: 5,
}


def allows(kind: str, current: Stage, party: Party, target: Stage) -> bool:
    """True when `party` may move a thread of `kind` from `current` to `target` directly."""
    targets = _BY_NAME.get(kind, {}).get(current, frozenset())
    return target in targets and author(target) is party


def sources(kind: str, party: Party, target: Stage) -> frozenset[Stage]:
    """Every stage from which `party` may move a thread of `kind` to `target` directly."""
    return frozenset(stage for stage in Stage if allows(kind, stage, party, target))


def observe(kind: str, current: Stage, party: Party, status: str) -> Stage:
    """The stage after `party` said `status`, as an observer who does not enforce sees it.

    A move `party` may make directly is taken; so is one it could only make after steps of
    its own not seen (an answer before `received`, planned or completed before accepted).
    Anything else
    (a final stage, the wrong party, an unknown status) leaves `current` as it is.
    """
    return _OBSERVED.get((kind, current, party, status), current)


def _reachable(kind: str, current: Stage, party: Party) -> frozenset[Stage]:
    # Every stage `party` reaches from `current` through its own moves alone.
    found: set[Stage] = set()
    frontier = {current}
    while frontier:
        frontier = {
            target
            for stage in frontier
            for target in Stage
            if target not in found and allows(kind, stage, party, target)
        }
        found |= frontier
    return frozenset(found)


# Worked out once: the tracker folds every thread again on each of its events.
_OBSERVED: Mapping[tuple[str, Stage, Party, str], Stage] = {
    (kind, current, party, status.value): stage_of(status)
    for kind in _BY_NAME
    for current in Stage
    for party in Party
    for status in AckStatus
    if stage_of(status) in _reachable(kind, current, party)
}


def fold(kind: str, said: Iterable[tuple[Party, str]]) -> Stage:
    """The stage after the acknowledgements `said`, in order, observed from SENT."""
    stage = _S.SENT
    for party, status in said:
        stage = observe(kind, stage, party, status)
    return stage


def rank(status: str | None) -> int:
    """Orders acknowledgements of one instant: 0 for unknown, then received, the answers,
    planned, completed, withdrawn."""
    return _RANK.get(status or "", 0)
