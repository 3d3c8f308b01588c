"""Arrival events on the real RabbitMQ: a referral between two gateways makes one "new
referral" email to the recipient's duty address, in its language, with nothing of the body;
a notifier restart does not send it twice; an event forged by another agency's user is
refused and not emailed. Referrals stored together travel in one batch and make one email
each; a batch with one event naming another recipient is refused whole."""

import asyncio
import json
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import pytest

from broker.notifier.config import NotifierSettings
from broker.topology.names import (
    ARRIVAL_CONTENT_TYPE,
    ARRIVALS_EXCHANGE,
    DEAD_LETTER_QUEUE,
    NOTIFIER_ARRIVALS_QUEUE,
    arrival_routing_key,
)
from schemas.arrival import Arrival, Arrivals
from schemas.examples import example_body
from schemas.ids import new_message_id, new_thread_id
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import (
    KeyedFederation,
    eventually,
    free_port,
    make_gateway,
    running,
)
from tests.integration.test_gateway_e2e import client, submit
from tests.integration.test_notifier import Inbox, depth, smtp_server
from tests.integration.test_notifier import running as notifier_running

pytestmark = pytest.mark.rabbitmq

A, B, C = "oscc-north", "social-east", "police-west"


def settings(keyed: KeyedFederation, folder: Path, smtp_port: int) -> NotifierSettings:
    fed = keyed.federation
    folder.mkdir(mode=0o700)
    keyed.write_directory_files(folder)
    return NotifierSettings.model_validate(
        {
            "amqp_url": fed.notifier_url(),
            "store_url": f"sqlite+aiosqlite:///{folder / 'sent.db'}",
            "dashboard_url": "https://dash.test",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "from": "caselink@dash.test"},
            "agencies": {
                A: {"duty": ["duty@north.test"]},
                B: {
                    "duty": [
                        {"address": "duty@east.test", "language": "th", "time_zone": "Asia/Bangkok"}
                    ],
                    "supervisors": ["lead@east.test"],
                    "inbox_url": "https://east.test/gateway",
                },
                C: {"duty": ["duty@west.test"]},
            },
            "directory": str(folder / "directory.json"),
            "root_pub": str(folder / "root.pub.json"),
            "user_prefix": fed.topology.user_prefix,
            "retry_max_s": 0.2,
        }
    )


def by_message(inbox: Inbox) -> dict[str, list[tuple[tuple[str, ...], EmailMessage]]]:
    found: dict[str, list[tuple[tuple[str, ...], EmailMessage]]] = {}
    for to, raw in inbox.received:
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.setdefault(str(message["X-Caselink-Message"]), []).append((to, message))
    return found


def body_strings(node: Any) -> Iterator[str]:
    """The body's free text and names: what must never reach an email."""
    if isinstance(node, dict):
        for value in node.values():
            yield from body_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from body_strings(value)
    elif isinstance(node, str) and (" " in node or len(node) >= 12) and node.count("-") < 4:
        yield node


async def publish_event(url: str, user: str, key: str, *events: Arrival) -> None:
    """`events` in one batch, as `user`."""
    async with await connect(url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(ARRIVALS_EXCHANGE, ensure=False)
        await exchange.publish(
            aio_pika.Message(
                Arrivals(arrivals=list(events)).model_dump_json().encode(),
                content_type=ARRIVAL_CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=user,
                message_id=new_message_id(),
            ),
            routing_key=key,
        )


def forged_event(recipient: str) -> Arrival:
    return Arrival(
        message_id=new_message_id(),
        thread_id=new_thread_id(),
        kind="referral",
        urgency="emergency",
        sender=A,
        recipient=recipient,
        arrived_at=1_700_000_000,
    )


async def test_a_referral_makes_one_new_referral_email_in_the_recipients_language(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    fed, inbox, port = keyed.federation, Inbox(), free_port()
    config = settings(keyed, tmp_path / "notifier", port)
    referral = json.loads(example_body(MessageKind.REFERRAL).model_dump_json())
    with smtp_server(inbox, port):
        async with (
            running(make_gateway(keyed, A, tmp_path)) as gateway_a,
            running(make_gateway(keyed, B, tmp_path)) as gateway_b,
            client(gateway_a) as api_a,
        ):
            async with notifier_running(config):
                sent = await submit(api_a, "/v1/referrals", B, referral)
                message_id = sent["message_id"]

                async def emailed() -> bool:
                    return message_id in by_message(inbox)

                await eventually(emailed, "the new referral emailed")
                await eventually(
                    lambda: _empty(fed, NOTIFIER_ARRIVALS_QUEUE), "the arrivals queue drained"
                )
            assert gateway_b.metrics.counts.arrivals_announced == 1
            # A forged event: police-west's user names social-east as the recipient. RabbitMQ
            # refuses the routing key that names social-east; under its own key it passes the
            # broker, and the notifier refuses it (the user is not social-east's).
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
                await publish_event(
                    fed.url(C), fed.user(C), arrival_routing_key("referral", B), forged_event(B)
                )
            forged = forged_event(B)
            await publish_event(fed.url(C), fed.user(C), arrival_routing_key("referral", C), forged)
            # A restart: the same event again (a republish, as after a gateway redelivery)
            # is not emailed twice; a fresh one after it shows the notifier has read past it.
            stored = await gateway_b.store.inbox_message(message_id)
            assert stored is not None
            again = Arrival(
                message_id=message_id,
                thread_id=stored.thread_id,
                kind="referral",
                urgency=stored.urgency,
                sender=A,
                recipient=B,
                arrived_at=int(stored.received_at),
            )
            await publish_event(fed.url(B), fed.user(B), arrival_routing_key("referral", B), again)
            marker = await submit(api_a, "/v1/referrals", B, referral)
            await eventually(
                lambda: _at_least(fed, NOTIFIER_ARRIVALS_QUEUE, 3),
                "forged, again and marker queued",
            )
            async with notifier_running(config):
                await eventually(
                    lambda: _has(inbox, marker["message_id"]), "the marker after the restart"
                )
                await eventually(
                    lambda: _empty(fed, NOTIFIER_ARRIVALS_QUEUE), "the arrivals queue drained"
                )
                await eventually(
                    lambda: _at_least(fed, DEAD_LETTER_QUEUE, 1), "the forged event dead-lettered"
                )

    found = by_message(inbox)
    assert set(found) == {message_id, marker["message_id"]}
    [(to, email)] = found[message_id]
    assert to == ("duty@east.test",)
    assert email["Subject"].startswith("[Caselink] การส่งต่อเคสใหม่")
    text = email.get_content()
    assert f"https://east.test/gateway/inbox/{message_id}" in text
    assert "North Hospital OSCC (oscc-north)" in text
    assert "East Municipality Social Services (social-east)" in text
    assert " +07" in text  # Bangkok time
    assert forged.message_id not in json.dumps(
        [raw.decode("utf-8", "replace") for _, raw in inbox.received]
    )
    secrets = set(body_strings(referral))
    assert secrets, "the example referral has free text to look for"
    for _, raw in inbox.received:
        decoded = message_from_bytes(raw, policy=policy.default).as_string()
        for secret in secrets:
            assert secret not in decoded
            assert secret.encode() not in raw
    assert await depth(fed, DEAD_LETTER_QUEUE) == 1


async def test_referrals_stored_together_go_in_one_batch_and_make_one_email_each(
    keyed: KeyedFederation, tmp_path: Path
) -> None:
    fed, inbox, port = keyed.federation, Inbox(), free_port()
    config = settings(keyed, tmp_path / "notifier", port)
    referral = json.loads(example_body(MessageKind.REFERRAL).model_dump_json())
    count = 6
    with smtp_server(inbox, port):
        async with running(make_gateway(keyed, A, tmp_path)) as gateway_a, client(gateway_a) as api:
            # B is down: the referrals wait in its queue and are stored together when it starts.
            sent = [await submit(api, "/v1/referrals", B, referral) for _ in range(count)]
            await eventually(
                lambda: _at_least(fed, fed.topology.agency_queue(B), count), "B's queue filled"
            )
            async with running(make_gateway(keyed, B, tmp_path)) as gateway_b:
                await eventually(
                    lambda: _is(gateway_b.metrics.counts.arrivals_announced == count),
                    "the arrivals announced",
                )
            # Fewer messages than arrivals: batches (the inbox may take its queue in more
            # than one batch, but not one by one).
            assert await depth(fed, NOTIFIER_ARRIVALS_QUEUE) < count
            # A batch of B's own user, under its own key, with one event naming another
            # recipient: refused whole, B's own event in it not emailed either.
            own, foreign = forged_event(B), forged_event(C)
            await publish_event(
                fed.url(B), fed.user(B), arrival_routing_key("referral", B), own, foreign
            )
            async with notifier_running(config):
                await eventually(
                    lambda: _is(len(by_message(inbox)) == count), "one email per referral"
                )
                await eventually(
                    lambda: _empty(fed, NOTIFIER_ARRIVALS_QUEUE), "the arrivals queue drained"
                )
                await eventually(
                    lambda: _at_least(fed, DEAD_LETTER_QUEUE, 1), "the forged batch dead-lettered"
                )
                await asyncio.sleep(0.5)  # a second email would come now

    found = by_message(inbox)
    assert set(found) == {accepted["message_id"] for accepted in sent}
    assert all(len(emails) == 1 for emails in found.values())
    assert all(to == ("duty@east.test",) for emails in found.values() for to, _ in emails)
    assert await depth(fed, DEAD_LETTER_QUEUE) == 1


async def _is(value: bool) -> bool:
    return value


async def _empty(fed: Any, queue: str) -> bool:
    return await depth(fed, queue) == 0


async def _at_least(fed: Any, queue: str, count: int) -> bool:
    return await depth(fed, queue) >= count


async def _has(inbox: Inbox, message_id: str) -> bool:
    await asyncio.sleep(0)
    return message_id in by_message(inbox)
