"""Erasure, the erasure log and idempotency keys: the GatewayStore contract on every backend.

Memory, SQLite and PostgreSQL (same fixtures as test_gateway_store_contract.py).
"""

from dataclasses import replace

from broker.gateway.ports import GatewayStore
from broker.gateway.records import RETENTION, Erasure, InboxState, SubmissionKey
from tests.gateway_records import answer, delivery, incoming, new_id, outgoing, their_ack

OPERATOR = "operator:tester"


async def test_erasing_a_thread_erases_its_bodies_and_keeps_the_rest(store: GatewayStore) -> None:
    thread = new_id()
    sent = outgoing(thread_id=thread)
    received = their_ack(sent, "accepted", received_at=2001.0)
    item = delivery(incoming(thread_id=thread))
    other = delivery()
    await store.enqueue([sent])
    await store.mark_sent([sent.message_id], at=1500.0)
    await store.store_received([item, delivery(received), other])

    # The referral received, our `received` ack of it (unsent), our referral, their answer.
    assert await store.erase_thread(thread, at=3000.0, by=OPERATOR) == 4

    kept = await store.inbox_message(item.message.message_id)
    assert kept == replace(item.message, envelope=None, erased_at=3000.0)
    assert await store.inbox_message(received.message_id) == replace(
        received, envelope=None, erased_at=3000.0
    )
    status = await store.sent_message(sent.message_id)
    assert status is not None
    assert status.message == replace(sent, sent_at=1500.0, envelope=None, erased_at=3000.0)
    assert status.answer == "accepted"  # what became of it is metadata, and stays
    assert await store.inbox_message(other.message.message_id) == other.message
    assert await store.erasures() == [Erasure(thread, 3000.0, OPERATOR, 4)]


async def test_an_erased_unsent_message_is_never_sent(store: GatewayStore) -> None:
    thread = new_id()
    unsent, elsewhere = outgoing(thread_id=thread), outgoing()
    await store.enqueue([unsent, elsewhere])
    await store.erase_thread(thread, at=3000.0, by=OPERATOR)
    assert await store.due(now=5000.0, limit=10) == [elsewhere]
    assert (await store.counts())["outbox_pending"] == 1


async def test_erasing_again_erases_nothing_and_says_so(store: GatewayStore) -> None:
    item = delivery()
    thread = item.message.thread_id
    await store.store_received([item])
    assert await store.erase_thread(thread, at=3000.0, by=OPERATOR) == 2
    assert await store.erase_thread(thread, at=3100.0, by=OPERATOR) == 0
    assert await store.erase_thread(new_id(), at=3200.0, by=OPERATOR) == 0
    log = await store.erasures(thread_id=thread)
    assert log == [Erasure(thread, 3100.0, OPERATOR, 0), Erasure(thread, 3000.0, OPERATOR, 2)]
    # The first erasure time stays on the rows.
    stored = await store.inbox_message(item.message.message_id)
    assert stored is not None
    assert stored.erased_at == 3000.0


async def test_an_erased_message_is_still_known_answerable_and_not_stored_again(
    store: GatewayStore,
) -> None:
    item = delivery()
    await store.store_received([item])
    await store.erase_thread(item.message.thread_id, at=3000.0, by=OPERATOR)
    # A replay of it is still a duplicate: erasure keeps the id.
    assert await store.store_received([item]) == [False]
    accepted = answer(item.message, "accepted", created_at=3001.0)
    moved = await store.respond(item.message.message_id, InboxState.ACCEPTED, accepted)
    assert (moved.state, moved.envelope, moved.erased_at) == (InboxState.ACCEPTED, None, 3000.0)
    assert [m.message_id for m in await store.due(now=5000.0, limit=10)] == [accepted.message_id]


async def test_retention_erases_old_bodies_only_and_logs_each_thread(store: GatewayStore) -> None:
    old_in = delivery(incoming(received_at=100.0))
    new_in = delivery(incoming(received_at=900.0))
    old_sent = outgoing(created_at=50.0)
    old_unsent = outgoing(created_at=60.0)
    new_sent = outgoing(created_at=950.0)
    await store.enqueue([old_sent, old_unsent, new_sent])
    await store.mark_sent([old_sent.message_id, new_sent.message_id], at=960.0)
    await store.store_received([old_in, new_in])  # their `received` acks: created at 1000

    assert await store.erase_expired(500.0, at=2000.0, limit=100) == 2
    assert await store.erase_expired(500.0, at=2001.0, limit=100) == 0

    old = await store.inbox_message(old_in.message.message_id)
    assert old is not None
    assert (old.envelope, old.erased_at) == (None, 2000.0)
    assert await store.inbox_message(new_in.message.message_id) == new_in.message
    # Never erased by age before it is sent: it is still due.
    assert old_unsent in await store.due(now=5000.0, limit=10)
    log = await store.erasures()
    assert sorted(log, key=lambda e: e.thread_id) == sorted(
        [
            Erasure(old_in.message.thread_id, 2000.0, RETENTION, 1),
            Erasure(old_sent.thread_id, 2000.0, RETENTION, 1),
        ],
        key=lambda e: e.thread_id,
    )


async def test_retention_takes_the_oldest_first_in_batches(store: GatewayStore) -> None:
    items = [delivery(incoming(received_at=float(at))) for at in (30, 10, 20)]
    await store.store_received(items)
    assert await store.erase_expired(100.0, at=2000.0, limit=2) == 2
    left = [m for m in await store.inbox() if m.erased_at is None]
    assert [m.received_at for m in left] == [30.0]
    assert await store.erase_expired(100.0, at=2000.0, limit=2) == 1


async def test_the_log_is_newest_first_and_filtered_by_thread(store: GatewayStore) -> None:
    first, second = new_id(), new_id()
    await store.erase_thread(first, at=1.0, by=OPERATOR)
    await store.erase_thread(second, at=2.0, by=OPERATOR)
    await store.erase_thread(first, at=3.0, by="operator:other")
    assert [e.erased_at for e in await store.erasures()] == [3.0, 2.0, 1.0]
    assert [e.erased_at for e in await store.erasures(limit=1)] == [3.0]
    assert await store.erasures(thread_id=second) == [Erasure(second, 2.0, OPERATOR, 0)]


def claim(key: str = "key-1", request_hash: str = "a" * 64, at: float = 1000.0) -> SubmissionKey:
    return SubmissionKey(key, request_hash, new_id(), new_id(), at)


async def test_a_key_is_claimed_once_and_reports_its_message(store: GatewayStore) -> None:
    first = claim()
    assert await store.claim_submission(first, fresh_after=0.0) == (first, False)
    # Another request under the same key gets the first claim back, whatever it says.
    other = claim(request_hash="b" * 64, at=1001.0)
    assert await store.claim_submission(other, fresh_after=0.0) == (first, False)
    await store.enqueue([outgoing(message_id=first.message_id, thread_id=first.thread_id)])
    assert await store.claim_submission(other, fresh_after=0.0) == (first, True)
    second = claim("key-2")
    assert await store.claim_submission(second, fresh_after=0.0) == (second, False)


async def test_a_stale_key_is_claimed_anew_and_old_keys_are_purged(store: GatewayStore) -> None:
    old = claim(at=100.0)
    await store.claim_submission(old, fresh_after=0.0)
    await store.claim_submission(claim("key-2", at=900.0), fresh_after=0.0)
    anew = claim(at=1000.0)
    assert await store.claim_submission(anew, fresh_after=500.0) == (anew, False)
    assert await store.purge_submissions(before=950.0) == 1  # key-2, claimed at 900
    again = claim("key-2", at=1100.0)
    assert await store.claim_submission(again, fresh_after=0.0) == (again, False)
    assert await store.claim_submission(claim(), fresh_after=0.0) == (anew, False)
