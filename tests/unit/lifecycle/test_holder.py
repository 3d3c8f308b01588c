"""Who holds a case at each stage: a transfer's sender until the recipient accepts."""

import pytest

from broker import lifecycle
from broker.lifecycle import Party, Stage
from schemas.kinds import MessageKind

A, B = "social-north", "social-south"
HELD_BY_SENDER = [Stage.SENT, Stage.DELIVERED, Stage.DECLINED, Stage.REDIRECTED, Stage.WITHDRAWN]


@pytest.mark.parametrize("stage", HELD_BY_SENDER)
def test_the_sender_holds_a_transfer_until_it_is_accepted_and_again_after_a_refusal(
    stage: Stage,
) -> None:
    assert lifecycle.holder(MessageKind.TRANSFER, stage, A, B) == A
    assert lifecycle.holding_party(MessageKind.TRANSFER, stage) is Party.SENDER


@pytest.mark.parametrize("stage", [Stage.ACCEPTED, Stage.PLANNED, Stage.COMPLETED])
def test_the_recipient_holds_a_transfer_it_accepted(stage: Stage) -> None:
    assert lifecycle.holder(MessageKind.TRANSFER, stage, A, B) == B
    assert lifecycle.holding_party(MessageKind.TRANSFER, stage) is Party.RECIPIENT


@pytest.mark.parametrize("kind", [MessageKind.REFERRAL, MessageKind.CONSENT, None])
def test_nothing_but_a_transfer_moves_responsibility(kind: MessageKind | None) -> None:
    for stage in Stage:
        assert lifecycle.holder(kind, stage, A, B) is None
        assert not lifecycle.in_limbo(kind, stage)


def test_a_transfer_is_in_limbo_exactly_when_nobody_took_it_and_it_was_not_withdrawn() -> None:
    limbo = {stage for stage in Stage if lifecycle.in_limbo(MessageKind.TRANSFER, stage)}
    assert limbo == {Stage.SENT, Stage.DELIVERED, Stage.DECLINED, Stage.REDIRECTED}
    # Limbo and taken over never overlap, and both follow the lifecycle's own sets.
    assert not lifecycle.LIMBO & lifecycle.TAKEN
    assert lifecycle.LIMBO == lifecycle.AWAITING_ANSWER | lifecycle.REFUSALS
