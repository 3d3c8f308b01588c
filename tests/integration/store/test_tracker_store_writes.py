"""The TrackerStore contract, its transactions: all or nothing, and stale moves ignored
(memory, SQLite, PG). Ingest and sweep through the ledger are in test_tracker_store_contract.py.
"""

import pytest

from broker.tracker.ledger import TrackerLedger
from broker.tracker.parties import NOT_A_PARTY, ThreadClaim
from broker.tracker.policy import DEFAULT_POLICY
from broker.tracker.records import NextCheck
from broker.tracker.schedule import folded_thread, plan_sweep
from schemas.kinds import AckStatus, MessageKind, Urgency
from tests.integration.store.conftest import COORDINATORS
from tests.integration.store.tracker_helpers import owed
from tests.unit.tracker.builders import HOUR, RECIPIENT, SENDER, STRANGER, T0, Thread


class Abandoned(Exception):
    """Raised inside a transaction to abandon it."""


async def test_a_failed_ingest_transaction_keeps_nothing(tracker: TrackerLedger) -> None:
    store, thread = tracker.store, Thread()
    sent = thread.original(T0)
    intruder = thread.original(T0 - HOUR, sender=STRANGER)

    async def ingest_then_fail() -> None:
        async with store.writing("ingest") as writes:
            assert await writes.claims_for_update([thread.thread_id]) == {
                thread.thread_id: ThreadClaim()
            }
            claim = ThreadClaim(sent.message_id, frozenset({SENDER, RECIPIENT}))
            assert await writes.add_events([sent], 1.0) == {sent.message_id}
            await writes.add_refusals([intruder], NOT_A_PARTY, 1.0)
            assert await writes.known_messages([sent.message_id, intruder.message_id, "x"]) == {
                sent.message_id,
                intruder.message_id,
            }
            events = await writes.events_of([thread.thread_id])
            assert events == {thread.thread_id: [sent]}
            folded = folded_thread(thread.thread_id, [sent], DEFAULT_POLICY, (), 1.0, claim)
            await writes.save_threads([folded])
            assert await writes.claims_for_update([thread.thread_id]) == {thread.thread_id: claim}
            raise Abandoned

    with pytest.raises(Abandoned):
        await ingest_then_fail()
    assert await store.thread(thread.thread_id) is None
    assert await store.timeline(thread.thread_id) == []
    assert await store.refusals(thread.thread_id) == []
    async with store.writing("read") as writes:
        assert await writes.claims_for_update([thread.thread_id]) == {
            thread.thread_id: ThreadClaim()
        }
        assert await writes.known_messages([sent.message_id, intruder.message_id]) == set()
    assert await tracker.ingest([sent], 2.0) == [True]


async def test_a_failed_sweep_transaction_keeps_nothing(tracker: TrackerLedger) -> None:
    store, thread = tracker.store, Thread(MessageKind.REFERRAL, Urgency.HIGH)
    await tracker.ingest([thread.original(T0)], 0.0)
    before = await store.thread(thread.thread_id)

    async def sweep_then_fail() -> None:
        async with store.writing("sweep") as writes:
            due = await writes.due_threads(T0 + HOUR, 10)
            recorded = await writes.recorded_keys([thread.thread_id])
            plan = plan_sweep(due, recorded, DEFAULT_POLICY, T0 + HOUR, COORDINATORS)
            assert len(await writes.add_alerts(plan.owed)) == 3
            await writes.move_next_checks(plan.moves)
            raise Abandoned

    with pytest.raises(Abandoned):
        await sweep_then_fail()
    assert await store.thread(thread.thread_id) == before
    assert await owed(store, 10) == []
    assert len(await tracker.sweep(T0 + HOUR)) == 3


async def test_a_move_read_before_a_refold_is_ignored(tracker: TrackerLedger) -> None:
    store, thread = tracker.store, Thread(MessageKind.REFERRAL, Urgency.HIGH)
    sent = thread.original(T0)
    await tracker.ingest([sent], 0.0)
    async with store.writing("sweep") as writes:
        [stale] = await writes.due_threads(T0 + HOUR, 10)
    await tracker.ingest([thread.answer(sent, AckStatus.RECEIVED, T0 + 60)], 1.0)
    refolded = await store.thread(thread.thread_id)
    assert refolded is not None
    assert refolded.next_check_at == T0 + 3 * HOUR
    async with store.writing("sweep") as writes:
        await writes.move_next_checks([NextCheck(thread.thread_id, stale.revision, T0 + 99)])
    assert await store.thread(thread.thread_id) == refolded
    async with store.writing("sweep") as writes:
        [current] = await writes.due_threads(T0 + 3 * HOUR, 10)
        await writes.move_next_checks([NextCheck(thread.thread_id, current.revision, T0 + 99)])
    moved = await store.thread(thread.thread_id)
    assert moved is not None
    assert moved.next_check_at == T0 + 99
