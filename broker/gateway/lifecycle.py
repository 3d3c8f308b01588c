"""The allowed moves of a received referral or transfer (pure: no I/O).

NEW -> ACCEPTED | DECLINED | REDIRECTED; ACCEPTED -> COMPLETED; NEW or ACCEPTED -> WITHDRAWN
(only the sender withdraws). Everything else, including any move of an INFORMATIONAL
message, is refused with `TransitionNotAllowed`.
"""

from collections.abc import Mapping

from broker.errors import CaselinkError
from broker.gateway.records import InboxState, OutboxMessage
from schemas.kinds import AckStatus, MessageKind

_S = InboxState

MOVES: Mapping[InboxState, frozenset[InboxState]] = {
    _S.NEW: frozenset({_S.ACCEPTED, _S.DECLINED, _S.REDIRECTED, _S.WITHDRAWN}),
    _S.ACCEPTED: frozenset({_S.COMPLETED, _S.WITHDRAWN}),
}
"""Allowed targets by current state; a state absent here is final."""

RESPONSES: frozenset[InboxState] = frozenset(
    {_S.ACCEPTED, _S.DECLINED, _S.REDIRECTED, _S.COMPLETED}
)
"""States the recipient may choose; WITHDRAWN is left out because only the sender withdraws."""

_BY_ACK_STATUS: Mapping[str, InboxState] = {
    AckStatus.RECEIVED: _S.NEW,
    AckStatus.ACCEPTED: _S.ACCEPTED,
    AckStatus.DECLINED: _S.DECLINED,
    AckStatus.REDIRECTED: _S.REDIRECTED,
    AckStatus.COMPLETED: _S.COMPLETED,
    AckStatus.WITHDRAWN: _S.WITHDRAWN,
}

# How far along a state is: breaks ties between answers stored at the same instant.
_PROGRESS: Mapping[InboxState, int] = {_S.NEW: 0, _S.ACCEPTED: 1}


class TransitionNotAllowed(CaselinkError, ValueError):
    """A received message cannot move from its current state to the one asked for."""

    reason = "transition_not_allowed"

    def __init__(self, current: InboxState | None, target: InboxState, why: str = "") -> None:
        source = f" from {current.value}" if current is not None else ""
        detail = f"cannot move a received message{source} to {target.value}"
        super().__init__(f"{detail}: {why}" if why else detail)
        self.current = current
        self.target = target


class UnknownAckStatus(CaselinkError, ValueError):
    """An acknowledgement status outside the closed vocabulary."""

    reason = "unknown_ack_status"


class AnswerMismatch(CaselinkError, ValueError):
    """The answer given to `respond` does not answer that message with that state."""

    reason = "answer_mismatch"


def can_move(current: InboxState, target: InboxState) -> bool:
    """True when `current -> target` is an allowed move."""
    return target in MOVES.get(current, frozenset())


def check_move(current: InboxState, target: InboxState) -> InboxState:
    """Return `target` when the move is allowed; raises TransitionNotAllowed otherwise."""
    if not can_move(current, target):
        raise TransitionNotAllowed(current, target)
    return target


def sources_of(target: InboxState) -> frozenset[InboxState]:
    """Every state from which `target` may be reached (empty for NEW and INFORMATIONAL)."""
    return frozenset(state for state, targets in MOVES.items() if target in targets)


def ack_status_to_state(status: str) -> InboxState:
    """The inbox state an acknowledgement status stands for; raises UnknownAckStatus."""
    try:
        return _BY_ACK_STATUS[status]
    except KeyError:
        raise UnknownAckStatus(f"unknown acknowledgement status {status!r}") from None


def progress(state: InboxState) -> int:
    """0 for NEW, 1 for ACCEPTED, 2 for a final state: orders answers of one instant."""
    return _PROGRESS.get(state, 2)


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
    if answer.status is None or _BY_ACK_STATUS.get(answer.status) is not target:
        raise AnswerMismatch(f"the answer's status does not stand for {target.value}")
