"""Refused envelopes and poison messages never block the valid messages behind them."""

import json
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from broker.envelope import seal
from broker.gateway.records import Received
from broker.operator.dead_letters import DeadLetter, list_dead_letters
from broker.store.gateway_store import SqlGatewayStore
from broker.topology.names import ALERTS_QUEUE, MESSAGES_EXCHANGE, routing_key
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect, publish
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    make_gateway,
    running,
)

pytestmark = pytest.mark.rabbitmq

A, B = "oscc-north", "social-east"


def sealed_referral(keyed: KeyedFederation, message_id: str | None = None) -> bytes:
    return seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=keyed.keys[A],
        recipient=B,
        directory=keyed.trusted,
        now=int(time.time()),
        thread_id=new_thread_id(),
        message_id=message_id or new_message_id(),
    )


def tampered(envelope: bytes) -> bytes:
    raw = bytearray(envelope)
    at = raw.index(b'"ciphertext":"') + 50
    raw[at] = ord("A") if raw[at] != ord("A") else ord("B")
    return bytes(raw)


async def from_a(
    keyed: KeyedFederation, body: bytes, message_id: str, *, with_user_id: bool = True
) -> None:
    """Publish as A's user, to B, as A's gateway would (with user_id unless told not to)."""
    federation = keyed.federation
    await publish(
        federation.url(A),
        MESSAGES_EXCHANGE,
        routing_key(MessageKind.REFERRAL, A, B),
        user_id=federation.user(A) if with_user_id else None,
        body=body,
        message_id=message_id,
    )


async def dead_letter(keyed: KeyedFederation, message_id: str) -> DeadLetter:
    """The dead letter whose envelope header names `message_id`, verified or not."""
    found: list[DeadLetter] = []

    async def arrived() -> bool:
        letters = await list_dead_letters(
            keyed.federation.operator_url(), keyed.trusted, int(time.time())
        )
        found[:] = [letter for letter in letters if letter.message_id == message_id]
        return bool(found)

    await eventually(arrived, f"dead letter {message_id}")
    return found[0]


async def first_alert(keyed: KeyedFederation) -> dict[str, object]:
    """The first alert on the coordinators' alerts queue."""
    alerts: list[dict[str, object]] = []

    async def arrived() -> bool:
        async with await connect(keyed.federation.admin_url()) as connection:
            queue = await (await connection.channel()).get_queue(ALERTS_QUEUE, ensure=False)
            message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            alerts.append(json.loads(message.body))
        return bool(alerts)

    await eventually(arrived, "an alert")
    return alerts[0]


async def test_tampered_envelope_is_dead_lettered_and_alerted_while_the_next_arrives(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    async with running(make_gateway(keyed, B, tmp_path)) as gateway_b:
        bad_id = new_message_id()
        await from_a(keyed, tampered(sealed_referral(keyed, bad_id)), "bad-1")
        good = sealed_referral(keyed)
        await from_a(keyed, good, "good-1")

        async def stored() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 1

        await eventually(stored, "the valid referral behind the tampered one")
        # Listed under the envelope's message id, not the AMQP one; RabbitMQ's x-death says
        # where and why it died; the refusal's reason is in the gateway's alert.
        letter = await dead_letter(keyed, bad_id)
        assert (letter.signature, letter.reason) == ("bad_signature", "rejected")
        assert letter.queue == keyed.federation.topology.agency_queue(B)
        assert letter.published_by == keyed.federation.user(A)
        announced = await first_alert(keyed)
        assert (announced["level"], announced["detail"]) == ("refused", "bad_signature")
        assert (announced["agency"], announced["message_id"]) == (B, bad_id)


async def test_a_delivery_without_user_id_is_dead_lettered_and_alerted_unopened(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    # RabbitMQ accepts a publish without user_id (it checks the property only when set):
    # a member agency could replay another's signed envelope that way. B refuses it.
    async with running(make_gateway(keyed, B, tmp_path)) as gateway_b:
        anonymous_id = new_message_id()
        await from_a(keyed, sealed_referral(keyed, anonymous_id), "anonymous-1", with_user_id=False)
        await from_a(keyed, sealed_referral(keyed), "good-1")

        async def stored() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 1

        await eventually(stored, "the referral published with its user_id")
        # Rejected unopened; RabbitMQ dead-lettered it from B's queue, with no user_id.
        letter = await dead_letter(keyed, anonymous_id)
        assert (letter.signature, letter.reason) == ("valid", "rejected")
        assert letter.queue == keyed.federation.topology.agency_queue(B)
        assert letter.published_by is None
        announced = await first_alert(keyed)
        assert (announced["level"], announced["detail"]) == ("refused", "sender_unauthenticated")
        assert announced["agency"] == B
        assert "sender" not in announced


class PoisonedStore(SqlGatewayStore):
    """Fails every transaction that contains the poison message: a bug that never heals."""

    def __init__(self, url: str, poison_thread: str) -> None:
        super().__init__(url)
        self.poison_thread = poison_thread
        self.attempts = 0

    async def store_received(self, batch: Sequence[Received]) -> list[bool]:
        if any(item.message.thread_id == self.poison_thread for item in batch):
            self.attempts += 1
            raise RuntimeError("simulated bug")
        return await super().store_received(batch)


async def test_poison_message_is_dead_lettered_after_the_delivery_limit(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    poison_thread, poison_id = new_thread_id(), new_message_id()
    poison = seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=keyed.keys[A],
        recipient=B,
        directory=keyed.trusted,
        now=int(time.time()),
        thread_id=poison_thread,
        message_id=poison_id,
    )
    store = PoisonedStore(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", poison_thread)
    async with running(make_gateway(keyed, B, tmp_path, store=store)) as gateway_b:
        await from_a(keyed, poison, "poison-1")
        for n in range(3):
            await from_a(keyed, sealed_referral(keyed), f"good-{n}")

        async def valid_stored() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 3

        await eventually(valid_stored, "the three valid referrals")
        letter = await dead_letter(keyed, poison_id)
        assert (letter.signature, letter.reason) == ("valid", "delivery_limit")
        assert store.attempts >= 5
