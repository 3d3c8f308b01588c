"""Property tests: the state of a thread depends on the set of its events, nothing else."""

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from broker.tracker.events import TrackedEvent
from broker.tracker.state import ThreadState, thread_state
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import RECIPIENT, SENDER, STRANGER, T0, Thread

CONSENT_RECIPIENTS = ["school-a", "police-b", "clinic-c"]
# Few distinct seconds, so that ties between events are common and the rank must decide.
offsets = st.integers(min_value=-2, max_value=6)


@st.composite
def threads(draw: st.DrawFn) -> tuple[Thread, list[TrackedEvent]]:
    """A thread's originals (some resent) and answers from both parties, in issue order."""
    kind = draw(st.sampled_from([MessageKind.REFERRAL, MessageKind.TRANSFER, MessageKind.CONSENT]))
    thread = Thread(kind, draw(st.sampled_from(list(Urgency))))
    if kind is MessageKind.CONSENT:
        recipients = draw(st.lists(st.sampled_from(CONSENT_RECIPIENTS), min_size=1, unique=True))
    else:
        recipients = [RECIPIENT] * draw(st.integers(min_value=1, max_value=2))
    originals = [thread.original(T0 + draw(offsets), recipient=r) for r in recipients]
    answers = []
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        to = draw(st.sampled_from(originals))
        status = draw(st.sampled_from(list(AckStatus)))
        answers.append(thread.answer(to, status, T0 + draw(offsets)))
    return thread, originals + answers


@st.composite
def reordered(draw: st.DrawFn, events: list[TrackedEvent]) -> list[TrackedEvent]:
    """Some permutation of `events`, with some of them repeated."""
    again = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return draw(st.permutations(events + again))


@given(data=st.data(), drawn=threads())
@settings(max_examples=300)
def test_any_order_and_repetition_give_the_same_state(
    data: st.DataObject, drawn: tuple[Thread, list[TrackedEvent]]
) -> None:
    thread, events = drawn
    expected = thread_state(thread.thread_id, events)
    shuffled = data.draw(reordered(events))
    assert thread_state(thread.thread_id, shuffled) == expected


@given(data=st.data(), drawn=threads())
@settings(max_examples=200)
def test_arrival_in_two_parts_gives_the_state_of_the_whole(
    data: st.DataObject, drawn: tuple[Thread, list[TrackedEvent]]
) -> None:
    # A tracker that restarts folds what it stored before and what arrives after together.
    thread, events = drawn
    cut = data.draw(st.integers(min_value=0, max_value=len(events)))
    shuffled = data.draw(st.permutations(events))
    stored, late = shuffled[:cut], shuffled[cut:]
    assert thread_state(thread.thread_id, [*late, *stored]) == thread_state(
        thread.thread_id, events
    )


@given(data=st.data(), drawn=threads())
@settings(max_examples=300)
def test_strangers_and_non_sender_withdrawals_change_nothing(
    data: st.DataObject, drawn: tuple[Thread, list[TrackedEvent]]
) -> None:
    thread, events = drawn
    originals = [event for event in events if event.opens_thread]
    noise = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=5))):
        to = data.draw(st.sampled_from(originals))
        at = T0 + data.draw(offsets)
        if data.draw(st.booleans()):
            status = data.draw(st.sampled_from(list(AckStatus)))
            noise.append(thread.answer(to, status, at, by=STRANGER))
        else:
            # A withdrawal by anyone but the sender: the recipient itself, or a stranger.
            by = data.draw(st.sampled_from([to.recipient, STRANGER]))
            noise.append(thread.answer(to, AckStatus.WITHDRAWN, at, by=by))
    mixed = data.draw(st.permutations(events + noise))
    assert thread_state(thread.thread_id, mixed) == thread_state(thread.thread_id, events)


@given(drawn=threads())
def test_the_state_names_only_parties_of_the_thread(
    drawn: tuple[Thread, list[TrackedEvent]],
) -> None:
    thread, events = drawn
    state: ThreadState = thread_state(thread.thread_id, events)
    assert state.sender == SENDER
    assert set(state.recipients) == {event.recipient for event in events if event.opens_thread}
    assert state.acknowledged <= set(state.recipients)
    assert state.opened_at == min(event.issued_at for event in events if event.opens_thread)
    if state.responsibility is not None:
        assert state.kind is MessageKind.TRANSFER
        assert state.responsibility in (SENDER, RECIPIENT)


@given(data=st.data(), drawn=threads())
@settings(max_examples=200)
def test_differing_repeats_of_a_message_id_still_give_one_state(
    data: st.DataObject, drawn: tuple[Thread, list[TrackedEvent]]
) -> None:
    # Signed message ids do not repeat with other content; should one anyway, the state
    # must still not depend on which copy arrived first.
    thread, events = drawn
    copied = data.draw(st.sampled_from(events))
    shift = data.draw(st.integers(min_value=-3, max_value=3))
    status = data.draw(st.sampled_from([None, *(s.value for s in AckStatus)]))
    forged = replace(copied, issued_at=copied.issued_at + shift, status=status)
    one = thread_state(thread.thread_id, [*events, forged])
    assert thread_state(thread.thread_id, [forged, *reversed(events)]) == one
