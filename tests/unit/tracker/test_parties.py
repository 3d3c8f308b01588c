"""Who may speak in a thread (broker/tracker/parties.py), and the takeover it stops."""

from broker.tracker.ledger import TrackerLedger
from broker.tracker.memory_store import MemoryTrackerStore
from broker.tracker.parties import ThreadClaim, admit, admitted
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.state import Phase, thread_state
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.unit.tracker.builders import DAY, HOUR, RECIPIENT, SENDER, STRANGER, T0, Thread

A = AckStatus
COORDINATORS = ("coord-national",)


async def test_a_back_dated_message_of_a_third_agency_does_not_take_over_the_thread() -> None:
    # The takeover as it was: a member agency that learnt a thread id sent a referral with
    # it, dated before the real one, and became the thread's sender; the real referral's
    # deadlines then vanished from the real parties' view.
    ledger = TrackerLedger(MemoryTrackerStore(), DEFAULT_POLICY, COORDINATORS)
    thread = Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    await ledger.ingest([sent], 1.0)
    takeover = thread.original(T0 - DAY, sender=STRANGER, recipient=SENDER)
    assert await ledger.ingest([takeover], 2.0) == [False]
    row = await ledger.store.thread(thread.thread_id)
    assert row is not None
    assert (row.state.sender, row.state.recipients) == (SENDER, (RECIPIENT,))
    assert (row.state.opened_at, row.current_deadline) == (T0, T0 + HOUR)
    timeline = await ledger.store.timeline(thread.thread_id)
    assert [entry.sender for entry in timeline] == [SENDER]


def test_the_first_message_received_fixes_the_parties() -> None:
    thread = Thread()
    sent = thread.original(T0)
    claim = admitted(ThreadClaim(), sent)
    assert claim == ThreadClaim(sent.message_id, frozenset({SENDER, RECIPIENT}))
    assert admitted(claim, thread.original(T0 - DAY, sender=STRANGER)) is None
    answer = thread.answer(sent, A.RECEIVED, T0 + 1)
    assert admitted(claim, answer) == claim


def test_an_answer_first_leaves_the_opener_to_the_first_original() -> None:
    thread = Thread()
    sent = thread.original(T0)
    early = admitted(ThreadClaim(), thread.answer(sent, A.ACCEPTED, T0 + 9))
    assert early == ThreadClaim(None, frozenset({SENDER, RECIPIENT}))
    assert admitted(early, sent) == ThreadClaim(sent.message_id, early.parties)
    later_original = thread.original(T0 - DAY)
    opened = admitted(early, sent)
    assert opened is not None
    assert admitted(opened, later_original) == opened  # the opener stays the first


def test_admit_decides_in_arrival_order_and_returns_only_changed_claims() -> None:
    opened, other = Thread(), Thread()
    other_sent = other.original(T0)
    other_claim = ThreadClaim(other_sent.message_id, frozenset({SENDER, RECIPIENT}))
    first = opened.original(T0, sender=STRANGER)  # arrives first: its sender is a party
    late = opened.original(T0 - DAY)  # back-dated but second: its sender is not a party
    answer = other.answer(other_sent, A.RECEIVED, T0 + 1)  # changes no claim
    admission = admit({other.thread_id: other_claim}, [first, late, answer])
    assert admission.admitted == [first, answer]
    assert admission.refused == [late]
    assert admission.claims == {
        opened.thread_id: ThreadClaim(first.message_id, frozenset({STRANGER, RECIPIENT}))
    }


def test_the_fold_starts_from_the_named_opener() -> None:
    thread = Thread()
    sent = thread.original(T0)
    back_dated = thread.original(T0 - DAY, sender=RECIPIENT, recipient=SENDER)
    events = [sent, back_dated, thread.answer(sent, A.RECEIVED, T0 + 5)]
    assert thread_state(thread.thread_id, events).sender == RECIPIENT  # earliest issued
    state = thread_state(thread.thread_id, events, sent.message_id)
    assert (state.sender, state.opened_at, state.phase) == (SENDER, T0, Phase.DELIVERED)
    assert thread_state(thread.thread_id, events, "not-stored").phase is Phase.UNKNOWN
