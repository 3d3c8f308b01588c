"""A transfer as the tracker folds it: who holds the case, and how long it is in limbo."""

from broker.tracker.events import TrackedEvent
from broker.tracker.listings import TRANSFERS_IN_LIMBO, TRANSFERS_TAKEN, limbo_seconds
from broker.tracker.state import Phase, thread_state
from schemas.kinds import AckStatus, MessageKind
from tests.unit.web.seed import answer, new_id, original

A, B = "social-north", "social-south"
SENT_AT, NOW = 1_000_000, 1_000_000 + 7200


def transfer(*statuses: AckStatus) -> tuple[str, list[TrackedEvent]]:
    thread_id = new_id()
    sent = original(thread_id, MessageKind.TRANSFER, A, B, SENT_AT)
    return thread_id, [sent] + [
        answer(sent, s, SENT_AT + 60 * (i + 1)) for i, s in enumerate(statuses)
    ]


def test_accepted_the_case_is_the_receivers_and_out_of_limbo() -> None:
    state = thread_state(*transfer(AckStatus.RECEIVED, AckStatus.ACCEPTED))
    assert (state.phase, state.responsibility) == (Phase.ACCEPTED, B)
    assert limbo_seconds(state, NOW) is None
    assert TRANSFERS_TAKEN.includes(state)
    assert not TRANSFERS_IN_LIMBO.includes(state)


def test_waiting_or_declined_the_case_stays_the_senders_in_limbo_since_it_was_sent() -> None:
    for statuses in ((), (AckStatus.RECEIVED,), (AckStatus.RECEIVED, AckStatus.DECLINED)):
        state = thread_state(*transfer(*statuses))
        assert state.responsibility == A
        assert limbo_seconds(state, NOW) == 7200
        assert TRANSFERS_IN_LIMBO.includes(state)
        assert not TRANSFERS_TAKEN.includes(state)
    # A clock behind the sender's never shows a negative age.
    assert limbo_seconds(thread_state(*transfer()), SENT_AT - 5) == 0


def test_a_referral_is_never_in_limbo() -> None:
    thread_id = new_id()
    state = thread_state(thread_id, [original(thread_id, MessageKind.REFERRAL, A, B, SENT_AT)])
    assert (state.responsibility, limbo_seconds(state, NOW)) == (None, None)
