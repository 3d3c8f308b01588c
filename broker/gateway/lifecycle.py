"""A received referral or transfer's moves in the inbox, from `broker.lifecycle` (pure).

The inbox shows the shared stages from the recipient's side: NEW is the delivered stage (a
message in the inbox has arrived), INFORMATIONAL marks acknowledgements and consents, which
have no stages. The recipient's people choose an answer (`RESPONSES`); the sender's
withdrawal, when it arrives, moves the message too. Every other move is refused with
`TransitionNotAllowed`.
"""

from collections.abc import Mapping

from broker import lifecycle
from broker.errors import CaselinkError
from broker.gateway.records import InboxState, OutboxMessage
from broker.lifecycle import Stage
from schemas.kinds import MessageKind

_S = InboxState
_STAGE: Mapping[InboxState, Stage] = {
    _S.NEW: Stage.DELIVERED,
    _S.ACCEPTED: Stage.ACCEPTED,
    _S.PLANNED: Stage.PLANNED,
    _S.DECLINED: Stage.DECLINED,
    _S.REDIRECTED: Stage.REDIRECTED,
    _S.COMPLETED: Stage.COMPLETED,
    _S.WITHDRAWN: Stage.WITHDRAWN,
}
_STATE: Mapping[Stage, InboxState] = {stage: state for state, stage in _STAGE.items()}

RESPONSES: frozenset[InboxState] = frozenset(_STATE[stage] for stage in lifecycle.ANSWERS)
"""States the recipient may choose; `received` is its gateway's, `withdrawn` the sender's."""


class TransitionNotAllowed(CaselinkError, ValueError):
    """A received message cannot move from its current state to the one asked for."""

    reason = "transition_not_allowed"

    def __init__(self, current: InboxState | None, target: InboxState, why: str = "") -> None:
        source = f" from {current.value}" if current is not None else ""
        detail = f"cannot move a received message{source} to {target.value}"
        super().__init__(f"{detail}: {why}" if why else detail)
        self.current = current
        self.target = target


class AnswerMismatch(CaselinkError, ValueError):
    """The answer given to `respond` does not answer that message with that state."""

    reason = "answer_mismatch"


def stage(state: InboxState) -> Stage | None:
    """The shared stage an inbox state shows; None for INFORMATIONAL."""
    return _STAGE.get(state)


def can_move(kind: str, current: InboxState, target: InboxState) -> bool:
    """True when a received message of `kind` may move from `current` to `target`.

    The party is the one `target` belongs to: the sender for WITHDRAWN, else the recipient.
    """
    source, goal = _STAGE.get(current), _STAGE.get(target)
    if source is None or goal is None:
        return False
    party = lifecycle.author(goal)
    return party is not None and lifecycle.allows(kind, source, party, goal)


def check_move(kind: str, current: InboxState, target: InboxState) -> InboxState:
    """Return `target` when the move is allowed; raises TransitionNotAllowed otherwise."""
    if not can_move(kind, current, target):
        raise TransitionNotAllowed(current, target)
    return target


def sources_of(kind: str, target: InboxState) -> frozenset[InboxState]:
    """Every inbox state from which a message of `kind` may reach `target` (maybe empty)."""
    return frozenset(state for state in _STAGE if can_move(kind, state, target))


def ack_status_to_state(status: str) -> InboxState:
    """The inbox state an acknowledgement status stands for; raises UnknownAckStatus."""
    return _STATE[lifecycle.stage_of(status)]


def check_response(message_id: str, target: InboxState, answer: OutboxMessage) -> None:
    """Refuse what no current state could make valid; raises the ValueErrors below.

    TransitionNotAllowed when `target` is not the recipient's to choose (NEW, WITHDRAWN,
    INFORMATIONAL); AnswerMismatch when `answer` is not an acknowledgement of `message_id`
    whose status stands for `target`.
    """
    if target not in RESPONSES:
        raise TransitionNotAllowed(None, target, "not a state the recipient may choose")
    if answer.kind != MessageKind.ACKNOWLEDGEMENT or answer.in_reply_to != message_id:
        raise AnswerMismatch("the answer must be an acknowledgement of the message it answers")
    if answer.status is None or lifecycle.status_of(_STAGE[target]) != answer.status:
        raise AnswerMismatch(f"the answer's status does not stand for {target.value}")
