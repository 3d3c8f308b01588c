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
from broker.topology.names import ALERTS_QUEUE
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


async def straight_onto_queue(keyed: KeyedFederation, body: bytes, message_id: str) -> None:
    """Publish as the operator, onto B's queue through the default exchange."""
    queue = keyed.federation.topology.agency_queue(B)
    await publish(
        keyed.federation.admin_url(), "", queue, user_id=None, body=body, message_id=message_id
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
        await straight_onto_queue(keyed, tampered(sealed_referral(keyed, bad_id)), "bad-1")
        good = sealed_referral(keyed)
        await straight_onto_queue(keyed, good, "good-1")

        async def stored() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 1

        await eventually(stored, "the valid referral behind the tampered one")
        # Listed under the envelope's message id, not the AMQP one; RabbitMQ's x-death says
        # where and why it died; the refusal's reason is in the gateway's alert.
        letter = await dead_letter(keyed, bad_id)
        assert (letter.signature, letter.reason) == ("bad_signature", "rejected")
        assert letter.queue == keyed.federation.topology.agency_queue(B)
        announced = await first_alert(keyed)
        assert (announced["level"], announced["detail"]) == ("refused", "bad_signature")
        assert (announced["agency"], announced["message_id"]) == (B, bad_id)


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
        await straight_onto_queue(keyed, poison, "poison-1")
        for n in range(3):
            await straight_onto_queue(keyed, sealed_referral(keyed), f"good-{n}")

        async def valid_stored() -> bool:
            return len(await gateway_b.store.inbox(kind="referral")) == 3

        await eventually(valid_stored, "the three valid referrals")
        letter = await dead_letter(keyed, poison_id)
        assert (letter.signature, letter.reason) == ("valid", "delivery_limit")
        assert store.attempts >= 5
