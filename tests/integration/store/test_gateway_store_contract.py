"""The GatewayStore contract, run against every implementation (memory, SQLite, PostgreSQL).

Queries (inbox, sent, counts) are in test_gateway_store_queries.py, same fixtures.
"""

import asyncio
from dataclasses import replace

import pytest

from broker.gateway.lifecycle import AnswerMismatch, TransitionNotAllowed
from broker.gateway.ports import GatewayStore
from broker.gateway.records import (
    InboxState,
    OutboxMessage,
    ReadChannel,
    ReadRecord,
    SignInMethod,
    SignInOutcome,
    SignInRecord,
)
from tests.gateway_records import ack_of, answer, delivery, incoming, outgoing, their_ack
from tests.integration.store.conftest import Backend

S = InboxState


def ids(messages: list[OutboxMessage]) -> list[str]:
    return [message.message_id for message in messages]


# Outbox


async def test_due_is_oldest_first_and_keeps_envelopes_intact(store: GatewayStore) -> None:
    middle, newest, oldest = (outgoing(created_at=at) for at in (20.0, 30.0, 10.0))
    for message in (middle, newest, oldest):
        await store.enqueue([message])
    assert await store.due(now=100.0, limit=10) == [oldest, middle, newest]
    assert await store.due(now=100.0, limit=2) == [oldest, middle]


async def test_due_waits_for_next_attempt_at(store: GatewayStore) -> None:
    now_due = outgoing(created_at=1.0, next_attempt_at=50.0)
    later = outgoing(created_at=2.0, next_attempt_at=150.0)
    await store.enqueue([now_due])
    await store.enqueue([later])
    assert ids(await store.due(now=100.0, limit=10)) == [now_due.message_id]
    assert ids(await store.due(now=150.0, limit=10)) == [now_due.message_id, later.message_id]


async def test_enqueue_twice_keeps_the_first(store: GatewayStore) -> None:
    message = outgoing()
    await store.enqueue([message])
    await store.enqueue([replace(message, envelope=b"other")])
    assert await store.due(now=2000.0, limit=10) == [message]


async def test_reschedule_records_attempts_and_delays(store: GatewayStore) -> None:
    message = outgoing()
    await store.enqueue([message])
    await store.reschedule(message.message_id, attempts=3, next_attempt_at=500.0)
    assert await store.due(now=499.0, limit=10) == []
    assert await store.due(now=500.0, limit=10) == [
        replace(message, attempts=3, next_attempt_at=500.0)
    ]


async def test_reschedule_of_an_unknown_id_raises_key_error(store: GatewayStore) -> None:
    with pytest.raises(KeyError):
        await store.reschedule("not-there", attempts=1, next_attempt_at=1.0)


async def test_mark_sent_takes_a_batch_and_keeps_the_first_confirm(store: GatewayStore) -> None:
    first, second, left = outgoing(), outgoing(), outgoing(created_at=999.0)
    for message in (first, second, left):
        await store.enqueue([message])
    await store.mark_sent([first.message_id, second.message_id, "unknown"], at=10.0)
    await store.mark_sent([first.message_id], at=20.0)
    await store.mark_sent([], at=30.0)
    assert await store.due(now=2000.0, limit=10) == [left]
    assert (await store.counts())["outbox_pending"] == 1
    sent = {status.message.message_id: status.message.sent_at for status in await store.sent()}
    assert sent == {first.message_id: 10.0, second.message_id: 10.0, left.message_id: None}


# Inbox: store_received


async def test_a_new_delivery_is_stored_with_its_ack(store: GatewayStore) -> None:
    item = delivery()
    assert await store.store_received([item]) == [True]
    assert await store.inbox_message(item.message.message_id) == item.message
    assert await store.due(now=2000.0, limit=10) == [item.ack]


async def test_a_duplicate_in_one_batch_is_stored_once(store: GatewayStore) -> None:
    item, other = delivery(), delivery()
    assert await store.store_received([item, other, item]) == [True, True, False]
    assert len(await store.inbox()) == 2
    assert sorted(ids(await store.due(now=2000.0, limit=10))) == sorted(
        [ack_of(item).message_id, ack_of(other).message_id]
    )


async def test_a_redelivery_in_a_later_batch_is_reported_and_ignored(store: GatewayStore) -> None:
    item = delivery()
    await store.store_received([item])
    # A redelivery opens to a new `received` ack with a new id: it must not be enqueued.
    again = replace(item, ack=answer(item.message, "received"))
    fresh = delivery()
    assert await store.store_received([again, fresh]) == [False, True]
    assert await store.counts() == {"outbox_pending": 2, "inbox_total": 2}
    assert set(ids(await store.due(now=2000.0, limit=10))) == {
        ack_of(item).message_id,
        ack_of(fresh).message_id,
    }


async def test_an_acknowledgement_is_stored_without_an_ack(store: GatewayStore) -> None:
    sent = outgoing()
    await store.enqueue([sent])
    received = their_ack(sent, "received")
    assert await store.store_received([delivery(received)]) == [True]
    assert await store.inbox_message(received.message_id) == received
    assert await store.counts() == {"outbox_pending": 1, "inbox_total": 1}


async def test_an_empty_batch_stores_nothing(store: GatewayStore) -> None:
    assert await store.store_received([]) == []
    assert await store.counts() == {"outbox_pending": 0, "inbox_total": 0}


# Respond


async def test_respond_moves_and_enqueues_the_answer(store: GatewayStore) -> None:
    referral = incoming()
    await store.store_received([delivery(referral)])  # our `received` ack: created_at 1000
    accepted = answer(referral, "accepted", created_at=1001.0)
    completed = answer(referral, "completed", created_at=1002.0)
    moved = await store.respond(referral.message_id, S.ACCEPTED, accepted)
    assert moved == replace(referral, state=S.ACCEPTED)
    assert await store.inbox_message(referral.message_id) == moved
    await store.respond(referral.message_id, S.COMPLETED, completed)
    assert (await store.inbox_message(referral.message_id)) == replace(referral, state=S.COMPLETED)
    pending = await store.due(now=2000.0, limit=10)
    assert [m.status for m in pending] == ["received", "accepted", "completed"]


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.NEW, S.COMPLETED),
        (S.DECLINED, S.ACCEPTED),
        (S.COMPLETED, S.COMPLETED),
        (S.WITHDRAWN, S.ACCEPTED),
        (S.ACCEPTED, S.DECLINED),
        (S.INFORMATIONAL, S.ACCEPTED),
    ],
)
async def test_respond_refuses_a_move_and_changes_nothing(
    store: GatewayStore, start: InboxState, target: InboxState
) -> None:
    message = incoming(state=start)
    await store.store_received([delivery(message)])
    with pytest.raises(TransitionNotAllowed, match=f"from {start.value} to {target.value}"):
        await store.respond(message.message_id, target, answer(message, target.value))
    assert await store.inbox_message(message.message_id) == message
    assert [m.status for m in await store.due(now=2000.0, limit=10)] == ["received"]


async def test_respond_refuses_withdrawing_and_mismatched_answers(store: GatewayStore) -> None:
    message = incoming()
    await store.store_received([delivery(message)])
    with pytest.raises(TransitionNotAllowed, match="to withdrawn"):
        await store.respond(message.message_id, S.WITHDRAWN, answer(message, "withdrawn"))
    with pytest.raises(AnswerMismatch):
        await store.respond(message.message_id, S.ACCEPTED, answer(message, "declined"))
    assert await store.inbox_message(message.message_id) == message


async def test_respond_to_an_unknown_message_raises_key_error(store: GatewayStore) -> None:
    ghost = incoming()
    with pytest.raises(KeyError):
        await store.respond(ghost.message_id, S.ACCEPTED, answer(ghost, "accepted"))
    assert await store.due(now=2000.0, limit=10) == []


async def test_of_concurrent_responders_exactly_one_wins(backend: Backend) -> None:
    # Two stores (two connection pools) racing, as two gateway workers would.
    first, second = await backend.open(), await backend.open()
    messages = [incoming() for _ in range(10)]
    await first.store_received([delivery(message) for message in messages])
    calls = []
    for message in messages:
        calls.append(first.respond(message.message_id, S.ACCEPTED, answer(message, "accepted")))
        calls.append(second.respond(message.message_id, S.DECLINED, answer(message, "declined")))
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    for message, pair in zip(
        messages, zip(outcomes[::2], outcomes[1::2], strict=True), strict=True
    ):
        winners = [outcome for outcome in pair if not isinstance(outcome, BaseException)]
        losers = [outcome for outcome in pair if isinstance(outcome, BaseException)]
        assert len(winners) == 1, pair
        assert isinstance(losers[0], TransitionNotAllowed), losers
        stored = await first.inbox_message(message.message_id)
        assert stored is not None
        assert stored.state == winners[0].state
    answers = [m for m in await first.due(now=2000.0, limit=100) if m.status != "received"]
    assert len(answers) == len(messages)


# Withdrawal by the sender


@pytest.mark.parametrize(
    ("kind", "start"), [("referral", S.NEW), ("referral", S.ACCEPTED), ("transfer", S.NEW)]
)
async def test_a_withdrawal_moves_the_message_to_withdrawn(
    store: GatewayStore, kind: str, start: InboxState
) -> None:
    referral = incoming(kind=kind, state=start)
    await store.store_received([delivery(referral)])
    withdrawal = their_ack(referral, "withdrawn")
    assert await store.store_received([delivery(withdrawal)]) == [True]
    assert await store.inbox_message(referral.message_id) == replace(referral, state=S.WITHDRAWN)
    with pytest.raises(TransitionNotAllowed, match="from withdrawn"):
        await store.respond(referral.message_id, S.COMPLETED, answer(referral, "completed"))


async def test_a_withdrawal_arriving_first_still_applies(store: GatewayStore) -> None:
    early, same_batch = incoming(), incoming()
    await store.store_received([delivery(their_ack(early, "withdrawn"))])
    await store.store_received([delivery(early)])
    await store.store_received([delivery(their_ack(same_batch, "withdrawn")), delivery(same_batch)])
    for message in (early, same_batch):
        stored = await store.inbox_message(message.message_id)
        assert stored is not None
        assert stored.state is S.WITHDRAWN


async def test_a_withdrawal_leaves_final_states_accepted_transfers_and_other_senders_alone(
    store: GatewayStore,
) -> None:
    declined, foreign = incoming(state=S.DECLINED), incoming()
    # An accepted transfer is the recipient's case now: its sender cannot take it back.
    transfer = incoming(kind="transfer", state=S.ACCEPTED)
    await store.store_received([delivery(declined), delivery(foreign), delivery(transfer)])
    await store.store_received(
        [
            delivery(their_ack(declined, "withdrawn")),
            delivery(their_ack(foreign, "withdrawn", sender="someone-else")),
            delivery(their_ack(transfer, "withdrawn")),
        ]
    )
    assert await store.inbox_message(declined.message_id) == declined
    assert await store.inbox_message(foreign.message_id) == foreign
    assert await store.inbox_message(transfer.message_id) == transfer


async def test_the_directory_serial_only_goes_up_and_survives_a_restart(backend: Backend) -> None:
    store = await backend.open()
    assert await store.directory_serial() == 0
    assert await store.accept_directory_serial(3, 1.0) == 3
    assert await store.accept_directory_serial(2, 2.0) == 3  # an older one is never kept
    assert await store.accept_directory_serial(3, 3.0) == 3
    again = await backend.open()  # a restart (memory: the same store)
    assert await again.directory_serial() == 3
    assert await again.accept_directory_serial(4, 4.0) == 4


# Authors, reads and sign-ins


async def test_an_outbox_entry_keeps_its_author(store: GatewayStore) -> None:
    sent = outgoing(author="ana")
    await store.enqueue([sent])
    referral = incoming()
    await store.store_received([delivery(referral)])
    answered = answer(referral, "accepted", author="case-system")
    await store.respond(referral.message_id, S.ACCEPTED, answered)
    authors = {m.message_id: m.author for m in await store.due(now=5000.0, limit=10)}
    assert authors[sent.message_id] == "ana"
    assert authors[answered.message_id] == "case-system"
    found = await store.sent_message(sent.message_id)
    assert found is not None
    assert found.message.author == "ana"


async def test_record_read_returns_the_message_and_records_who_read_it(
    store: GatewayStore,
) -> None:
    first, other = incoming(), incoming()
    reply = their_ack(first, "received")  # same thread as `first`
    await store.store_received([delivery(first), delivery(other), delivery(reply)])
    assert await store.record_read(first.message_id, "ana", ReadChannel.API, 20.0) == first
    assert await store.record_read(reply.message_id, "sam", ReadChannel.API, 10.0) == reply
    assert await store.record_read(first.message_id, "ana", ReadChannel.API, 20.0) == first
    await store.record_read(other.message_id, "bo", ReadChannel.API, 5.0)
    assert await store.reads(first.thread_id) == [
        ReadRecord(reply.message_id, first.thread_id, "sam", ReadChannel.API, 10.0),
        ReadRecord(first.message_id, first.thread_id, "ana", ReadChannel.API, 20.0),
        ReadRecord(first.message_id, first.thread_id, "ana", ReadChannel.API, 20.0),
    ]
    assert len(await store.reads(first.thread_id, limit=1, offset=2)) == 1


async def test_record_read_of_an_unknown_message_records_nothing(store: GatewayStore) -> None:
    missing = incoming()
    assert await store.record_read(missing.message_id, "ana", ReadChannel.API, 1.0) is None
    assert await store.reads(missing.thread_id) == []


async def test_sign_ins_are_listed_newest_first(store: GatewayStore) -> None:
    records = [
        SignInRecord(1.0, "192.0.2.1", SignInMethod.PASSWORD, SignInOutcome.FAILED, None),
        SignInRecord(2.0, "192.0.2.1", SignInMethod.PASSWORD, SignInOutcome.SUCCEEDED, "ana"),
        SignInRecord(2.0, "2001:db8::1", SignInMethod.TOKEN, SignInOutcome.SUCCEEDED, "sys"),
    ]
    for record in records:
        await store.record_sign_in(record)
    assert await store.sign_ins() == [records[2], records[1], records[0]]
    assert await store.sign_ins(limit=1, offset=1) == [records[1]]
