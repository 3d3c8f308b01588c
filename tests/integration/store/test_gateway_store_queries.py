"""The GatewayStore contract, queries: inbox filters and paging, sent status, counts."""

from dataclasses import replace

import pytest

from broker.gateway.ports import GatewayStore
from broker.gateway.records import InboxState
from broker.lifecycle import Party, Stage
from tests.gateway_records import answer, delivery, incoming, outgoing, their_ack

S = InboxState


async def test_inbox_is_newest_first_and_pages(store: GatewayStore) -> None:
    messages = [incoming(received_at=float(at)) for at in (3, 1, 5, 2, 4)]
    await store.store_received([delivery(message) for message in messages])
    newest_first = sorted(messages, key=lambda message: message.received_at, reverse=True)
    assert await store.inbox() == newest_first
    assert await store.inbox(limit=2) == newest_first[:2]
    assert await store.inbox(limit=2, offset=2) == newest_first[2:4]
    assert await store.inbox(limit=2, offset=4) == newest_first[4:]
    assert await store.inbox(offset=5) == []


async def test_inbox_filters_by_kind_and_state(store: GatewayStore) -> None:
    referral = incoming(received_at=1.0)
    transfer = incoming(kind="transfer", received_at=2.0)
    declined = incoming(state=S.DECLINED, received_at=3.0)
    consent = incoming(kind="consent", status="granted", state=S.INFORMATIONAL, received_at=4.0)
    await store.store_received([delivery(m) for m in (referral, transfer, declined, consent)])
    assert await store.inbox(kind="referral") == [declined, referral]
    assert await store.inbox(state=S.NEW) == [transfer, referral]
    assert await store.inbox(kind="referral", state=S.NEW) == [referral]
    assert await store.inbox(kind="consent") == [consent]
    assert await store.inbox(kind="alert") == []


async def test_inbox_message_of_an_unknown_id_is_none(store: GatewayStore) -> None:
    assert await store.inbox_message("not-there") is None


async def test_sent_shows_delivery_and_the_latest_answer(store: GatewayStore) -> None:
    referral = outgoing(created_at=1.0)
    await store.enqueue([referral])
    await store.mark_sent([referral.message_id], at=2.0)
    before = await store.sent_message(referral.message_id)
    assert before is not None
    assert (before.delivered_at, before.answer, before.answered_at) == (None, None, None)
    await store.store_received([delivery(their_ack(referral, "received", received_at=3.0))])
    await store.store_received([delivery(their_ack(referral, "accepted", received_at=4.0))])
    await store.store_received([delivery(their_ack(referral, "completed", received_at=5.0))])
    status = await store.sent_message(referral.message_id)
    assert status is not None
    assert status.message == replace(referral, sent_at=2.0)
    assert (status.delivered_at, status.answer, status.answered_at) == (3.0, "completed", 5.0)
    assert (before.stage, status.stage) == (Stage.SENT, Stage.COMPLETED)
    assert await store.sent() == [status]


@pytest.mark.parametrize(
    ("kind", "stage"), [("referral", Stage.WITHDRAWN), ("transfer", Stage.ACCEPTED)]
)
async def test_sent_shows_our_own_withdrawal_unless_of_an_accepted_transfer(
    store: GatewayStore, kind: str, stage: Stage
) -> None:
    sent = outgoing(kind=kind, created_at=1.0)
    await store.enqueue([sent])
    await store.store_received([delivery(their_ack(sent, "accepted", received_at=3.0))])
    withdrawal = outgoing(
        kind="acknowledgement",
        thread_id=sent.thread_id,
        in_reply_to=sent.message_id,
        status="withdrawn",
        created_at=4.0,
    )
    await store.enqueue([withdrawal])
    status = await store.sent_message(sent.message_id)
    assert status is not None
    assert status.stage is stage
    assert [s.stage for s in await store.sent()] == [status.stage]


async def test_a_sent_transfer_is_ours_until_accepted_and_comes_back_with_its_reason(
    store: GatewayStore,
) -> None:
    taken, returned = outgoing(kind="transfer", created_at=1.0), outgoing(kind="transfer")
    await store.enqueue([taken, returned])
    await store.store_received(
        [delivery(their_ack(m, "received", received_at=3.0)) for m in (taken, returned)]
    )
    pending = await store.sent_message(taken.message_id)
    assert pending is not None
    assert (pending.stage, pending.holder, pending.reason_category) == (
        Stage.DELIVERED,
        Party.SENDER,
        None,
    )
    declined = their_ack(returned, "declined", received_at=4.0, reason_category="child_not_in_area")
    await store.store_received(
        [delivery(their_ack(taken, "accepted", received_at=4.0)), delivery(declined)]
    )
    assert await store.inbox_message(declined.message_id) == declined
    now_taken = await store.sent_message(taken.message_id)
    back = await store.sent_message(returned.message_id)
    assert now_taken is not None
    assert back is not None
    assert (now_taken.holder, now_taken.reason_category) == (Party.RECIPIENT, None)
    assert (back.stage, back.holder, back.reason_category) == (
        Stage.DECLINED,
        Party.SENDER,
        "child_not_in_area",
    )
    assert await store.sent() == [back, now_taken]


async def test_sent_ignores_answers_from_other_agencies(store: GatewayStore) -> None:
    referral = outgoing()
    await store.enqueue([referral])
    forged = their_ack(referral, "declined", sender="someone-else")
    await store.store_received([delivery(forged)])
    status = await store.sent_message(referral.message_id)
    assert status is not None
    assert status.answer is None


async def test_answers_in_one_batch_resolve_to_the_furthest(store: GatewayStore) -> None:
    referral = outgoing()
    await store.enqueue([referral])
    acks = [their_ack(referral, s, received_at=9.0) for s in ("completed", "accepted")]
    await store.store_received([delivery(ack) for ack in acks])
    status = await store.sent_message(referral.message_id)
    assert status is not None
    assert (status.answer, status.answered_at) == ("completed", 9.0)


async def test_sent_lists_our_messages_but_not_our_acks_newest_first(store: GatewayStore) -> None:
    older, newer = outgoing(created_at=1.0), outgoing(kind="transfer", created_at=2.0)
    received = incoming()
    await store.enqueue([older])
    await store.enqueue([newer])
    await store.store_received([delivery(received)])  # enqueues our `received` ack
    await store.respond(received.message_id, S.ACCEPTED, our := answer(received, "accepted"))
    listed = [status.message for status in await store.sent()]
    assert listed == [newer, older]
    assert [s.message for s in await store.sent(limit=1, offset=1)] == [older]
    assert await store.sent(offset=2) == []
    assert await store.sent_message(our.message_id) is None
    assert await store.sent_message("not-there") is None


async def test_counts_pending_outbox_and_whole_inbox(store: GatewayStore) -> None:
    assert await store.counts() == {"outbox_pending": 0, "inbox_total": 0}
    first, second = outgoing(), outgoing()
    await store.enqueue([first])
    await store.enqueue([second])
    await store.store_received([delivery(), delivery(their_ack(first, "received"))])
    assert await store.counts() == {"outbox_pending": 3, "inbox_total": 2}
    await store.mark_sent([first.message_id, second.message_id], at=1.0)
    assert await store.counts() == {"outbox_pending": 1, "inbox_total": 2}


async def test_the_worklist_keeps_old_unanswered_messages_of_its_kinds_first(
    store: GatewayStore,
) -> None:
    old = incoming(received_at=1.0)
    older_transfer = incoming(kind="transfer", received_at=0.5)
    answered = [incoming(state=S.ACCEPTED, received_at=float(at)) for at in (2, 3, 4)]
    others = [
        incoming(kind="consent", status="granted", state=S.INFORMATIONAL, received_at=9.0),
        incoming(kind="acknowledgement", state=S.INFORMATIONAL, urgency=None, received_at=8.0),
    ]
    await store.store_received([delivery(m) for m in (old, older_transfer, *answered, *others)])
    kinds = {"referral", "transfer"}
    newest_answered = sorted(answered, key=lambda m: m.received_at, reverse=True)
    assert await store.worklist(kinds, limit=10) == [older_transfer, old, *newest_answered]
    # The limit cuts the answered ones, never an unanswered one before them.
    assert await store.worklist(kinds, limit=3) == [older_transfer, old, newest_answered[0]]
    assert await store.worklist(kinds, limit=1) == [older_transfer]
    assert await store.worklist({"referral"}, limit=10) == [old, *newest_answered]
    assert await store.worklist({"alert"}, limit=10) == []
