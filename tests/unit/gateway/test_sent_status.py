"""What became of a sent message, summarised from the acknowledgements answering it."""

import pytest

from broker.gateway.sent_status import Reply, sent_status
from broker.lifecycle import Party, Stage
from tests.gateway_records import THEM, new_id, outgoing


def reply(status: str | None, at: float, sender: str = THEM) -> Reply:
    return Reply(message_id=new_id(), sender=sender, status=status, received_at=at)


def test_no_replies_means_neither_delivered_nor_answered() -> None:
    message = outgoing()
    status = sent_status(message, [])
    assert status.message is message
    assert (status.delivered_at, status.answer, status.answered_at) == (None, None, None)


def test_received_gives_delivered_at_and_the_latest_other_status_is_the_answer() -> None:
    replies = [reply("completed", 30.0), reply("received", 10.0), reply("accepted", 20.0)]
    status = sent_status(outgoing(), replies)
    assert status.delivered_at == 10.0
    assert (status.answer, status.answered_at) == ("completed", 30.0)


def test_first_received_counts_when_it_came_twice() -> None:
    status = sent_status(outgoing(), [reply("received", 12.0), reply("received", 11.0)])
    assert status.delivered_at == 11.0
    assert status.answer is None


def test_answers_stored_at_the_same_instant_are_ordered_by_progress() -> None:
    for replies in (
        [reply("accepted", 5.0), reply("completed", 5.0)],
        [reply("completed", 5.0), reply("accepted", 5.0)],
    ):
        assert sent_status(outgoing(), replies).answer == "completed"


def test_replies_from_anyone_but_the_recipient_are_ignored() -> None:
    replies = [reply("received", 1.0, sender="intruder"), reply("declined", 2.0, "intruder")]
    status = sent_status(outgoing(), replies)
    assert (status.delivered_at, status.answer) == (None, None)


def own(status: str, at: float) -> Reply:
    return Reply(message_id=new_id(), sender="", status=status, received_at=at)


def test_the_stage_follows_the_recipients_answers() -> None:
    message = outgoing()
    assert sent_status(message, []).stage is Stage.SENT
    replies = [reply("received", 1.0), reply("accepted", 2.0), reply("completed", 3.0)]
    assert sent_status(message, replies).stage is Stage.COMPLETED


def test_a_move_the_lifecycle_refuses_leaves_the_stage_but_is_still_the_answer() -> None:
    replies = [reply("received", 1.0), reply("accepted", 2.0), reply("declined", 3.0)]
    status = sent_status(outgoing(), replies)
    assert (status.stage, status.answer) == (Stage.ACCEPTED, "declined")


@pytest.mark.parametrize(
    ("kind", "stage"), [("referral", Stage.WITHDRAWN), ("transfer", Stage.ACCEPTED)]
)
def test_an_own_withdrawal_counts_unless_an_accepted_transfer(kind: str, stage: Stage) -> None:
    replies = [reply("received", 1.0), reply("accepted", 2.0)]
    status = sent_status(outgoing(kind=kind), replies, [own("withdrawn", 3.0)])
    assert status.stage is stage
    assert status.answer == "accepted"


def test_own_answers_other_than_a_withdrawal_and_consents_have_no_stage_effect() -> None:
    assert sent_status(outgoing(), [], [own("accepted", 1.0)]).stage is Stage.SENT
    assert sent_status(outgoing(kind="consent"), [], [own("withdrawn", 1.0)]).stage is None


def refusal(status: str, at: float, category: str) -> Reply:
    return Reply(new_id(), THEM, status, at, reason_category=category)


def test_a_transfer_is_held_by_us_until_accepted() -> None:
    transfer = outgoing(kind="transfer", urgency=None)
    assert sent_status(transfer, []).holder is Party.SENDER
    assert sent_status(transfer, [reply("received", 1.0)]).holder is Party.SENDER
    accepted = sent_status(transfer, [reply("received", 1.0), reply("accepted", 2.0)])
    assert (accepted.holder, accepted.reason_category) == (Party.RECIPIENT, None)
    # A referral moves no responsibility.
    assert sent_status(outgoing(), [reply("accepted", 2.0)]).holder is None


@pytest.mark.parametrize("status", ["declined", "redirected"])
def test_a_refused_transfer_comes_back_with_its_reason_category(status: str) -> None:
    transfer = outgoing(kind="transfer", urgency=None)
    replies = [reply("received", 1.0), refusal(status, 2.0, "child_not_in_area")]
    returned = sent_status(transfer, replies)
    assert (returned.stage, returned.holder) == (Stage(status), Party.SENDER)
    assert returned.reason_category == "child_not_in_area"


def test_a_reason_category_the_lifecycle_did_not_take_is_not_shown() -> None:
    # Declined after accepting moves nothing: the case is the recipient's, with no reason.
    replies = [reply("accepted", 1.0), refusal("declined", 2.0, "no_capacity")]
    status = sent_status(outgoing(kind="transfer", urgency=None), replies)
    assert (status.stage, status.holder, status.reason_category) == (
        Stage.ACCEPTED,
        Party.RECIPIENT,
        None,
    )
