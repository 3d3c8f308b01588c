"""Each agency's RabbitMQ user is confined as the design says, on the real broker.

One federation (three agencies, its own vhost and users) is applied for the module and
deleted afterwards. Agency A = oscc-north, B = social-east, C = police-west; only the
poison test sends to C, so its queue holds nothing else.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractIncomingMessage
from aiormq.exceptions import ChannelAccessRefused, ChannelPreconditionFailed

from broker.topology.names import (
    ALERTS_EXCHANGE,
    ALERTS_QUEUE,
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DELIVERY_LIMIT,
    MESSAGES_EXCHANGE,
    TAP_LOST_EXCHANGE,
    TAP_LOST_QUEUE,
    TAP_OVERFLOW_EXCHANGE,
    TAP_OVERFLOW_QUEUE,
    TAP_QUEUE,
    Topology,
    alert_routing_key,
    routing_key,
)
from schemas.ids import new_message_id
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect, publish, take
from tests.integration.rabbit_federation import TIMEOUT_S, Federation, applied_federation

pytestmark = pytest.mark.rabbitmq

A, B, C = "oscc-north", "social-east", "police-west"
REFERRAL = MessageKind.REFERRAL
# Queue names do not depend on the vhost or the user prefix.
QUEUE_OF = {agency_id: Topology().agency_queue(agency_id) for agency_id in (A, B, C)}


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Federation]:
    secrets = tmp_path_factory.mktemp("rabbitmq") / "passwords.json"
    with applied_federation(secrets, [A, B, C]) as federation:
        yield federation


# (a) publishing as oneself


async def test_agency_publishes_as_itself_to_recipient_and_tap(fed: Federation) -> None:
    key = routing_key(REFERRAL, A, B)
    message_id = await publish(fed.url(A), MESSAGES_EXCHANGE, key, user_id=fed.user(A))

    delivered = await take(fed.url(B), fed.topology.agency_queue(B), message_id)
    assert delivered.user_id == fed.user(A)
    assert delivered.routing_key == key
    assert delivered.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    tapped = await take(fed.tracker_url(), TAP_QUEUE, message_id)
    assert tapped.user_id == fed.user(A)


# (f) reading one's own queue


async def test_agency_consumes_its_own_queue(fed: Federation) -> None:
    key = routing_key(MessageKind.ACKNOWLEDGEMENT, B, A)
    message_id = await publish(fed.url(B), MESSAGES_EXCHANGE, key, user_id=fed.user(B))
    delivered = await take(fed.url(A), fed.topology.agency_queue(A), message_id)
    assert delivered.user_id == fed.user(B)


async def test_agency_raises_alerts_about_itself(fed: Federation) -> None:
    key = alert_routing_key("refused", A)
    alert_id = await publish(fed.url(A), ALERTS_EXCHANGE, key, user_id=fed.user(A))
    assert (await take(fed.admin_url(), ALERTS_QUEUE, alert_id)).routing_key == key


async def test_a_rejected_delivery_is_dead_lettered_by_rabbitmq_with_its_sender(
    fed: Federation,
) -> None:
    # What a gateway does with an envelope it refuses, since it may not publish there itself.
    message_id = await publish(
        fed.url(A), MESSAGES_EXCHANGE, routing_key(REFERRAL, A, B), user_id=fed.user(A)
    )
    async with await connect(fed.url(B)) as connection:
        queue = await (await connection.channel()).get_queue(fed.topology.agency_queue(B))
        async with queue.iterator() as messages:
            async for message in messages:
                if message.message_id == message_id:
                    await message.reject(requeue=False)
                    break
                await message.ack()
    dead = await take(fed.operator_url(), DEAD_LETTER_QUEUE, message_id)
    assert dead.user_id == fed.user(A)
    [death, *_] = dead.headers["x-death"]  # type: ignore[misc]
    assert (death["queue"], death["reason"]) == (fed.topology.agency_queue(B), "rejected")  # type: ignore[index,call-overload]


async def test_operator_puts_a_letter_back_into_one_queue_as_its_sender(fed: Federation) -> None:
    # The default exchange delivers to the queue named by the routing key, and nowhere else;
    # the impersonator tag lets the operator keep the original user_id.
    message_id = await publish(
        fed.operator_url(), "", fed.topology.agency_queue(B), user_id=fed.user(A)
    )
    delivered = await take(fed.url(B), fed.topology.agency_queue(B), message_id)
    assert delivered.user_id == fed.user(A)


async def test_tracker_raises_alerts_about_any_agency(fed: Federation) -> None:
    key = alert_routing_key("escalation", B)
    alert_id = await publish(
        fed.tracker_url(), ALERTS_EXCHANGE, key, user_id=fed.topology.tracker_user()
    )
    assert (await take(fed.admin_url(), ALERTS_QUEUE, alert_id)).routing_key == key


# (b), (c) and more: publishes the broker must refuse


def _url_and_user(fed: Federation, who: str) -> tuple[str, str]:
    if who == "tracker":
        return fed.tracker_url(), fed.topology.tracker_user()
    if who == "operator":
        return fed.operator_url(), fed.topology.operator_user()
    return fed.url(who), fed.user(who)


def _publish_as(who: str, exchange: str, key: str, user_id: str | None = None) -> Any:
    def attempt(fed: Federation) -> Awaitable[str]:
        url, own = _url_and_user(fed, who)
        return publish(url, exchange, key, user_id=own if user_id is None else fed.user(user_id))

    return attempt


REFUSED_PUBLISHES = {
    # (b) another agency as sender, on either topic exchange
    "sender is another agency": _publish_as(A, MESSAGES_EXCHANGE, routing_key(REFERRAL, B, A)),
    "alert about another agency": _publish_as(A, ALERTS_EXCHANGE, alert_routing_key("refused", B)),
    # Exchanges an agency has no business with: the default one would bypass topic checks.
    "default exchange into B's queue": _publish_as(A, "", QUEUE_OF[B]),
    "amq.topic": _publish_as(A, "amq.topic", routing_key(REFERRAL, A, B)),
    "tracker on messages": _publish_as("tracker", MESSAGES_EXCHANGE, routing_key(REFERRAL, A, B)),
    # Only RabbitMQ's own dead-lettering writes dead letters: an agency cannot plant one.
    "agency on the dead-letter exchange": _publish_as(A, DEAD_LETTER_EXCHANGE, ""),
    "agency on the tap's overflow": _publish_as(A, TAP_OVERFLOW_EXCHANGE, ""),
    "agency on the tap's lost queue": _publish_as(A, TAP_LOST_EXCHANGE, ""),
    "tracker on the dead-letter exchange": _publish_as("tracker", DEAD_LETTER_EXCHANGE, ""),
    "operator on messages": _publish_as("operator", MESSAGES_EXCHANGE, routing_key(REFERRAL, A, B)),
    "operator on the dead-letter exchange": _publish_as("operator", DEAD_LETTER_EXCHANGE, ""),
}


@pytest.mark.parametrize("attempt", REFUSED_PUBLISHES.values(), ids=REFUSED_PUBLISHES.keys())
async def test_publish_is_refused(
    fed: Federation, attempt: Callable[[Federation], Awaitable[str]]
) -> None:
    with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED - access to"):
        await attempt(fed)


async def test_user_id_of_another_agency_is_refused(fed: Federation) -> None:
    # (c) RabbitMQ checks user_id against the login, so a forged sender cannot even get in.
    forged = _publish_as(A, MESSAGES_EXCHANGE, routing_key(REFERRAL, A, B), user_id=B)
    with pytest.raises(ChannelPreconditionFailed, match="user_id property set to"):
        await forged(fed)


# (d), (e): reading, declaring and binding the broker must refuse


async def _ignore(message: AbstractIncomingMessage) -> None:
    return None


async def _consume(url: str, queue: str) -> None:
    async with await connect(url) as connection:
        channel = await connection.channel()
        source = await channel.get_queue(queue, ensure=False)
        await asyncio.wait_for(source.consume(_ignore), TIMEOUT_S)


@pytest.mark.parametrize(
    ("who", "queue"),
    [
        (A, QUEUE_OF[B]),
        (A, TAP_QUEUE),
        (A, DEAD_LETTER_QUEUE),
        (A, ALERTS_QUEUE),
        (A, TAP_OVERFLOW_QUEUE),
        (A, TAP_LOST_QUEUE),
        ("tracker", QUEUE_OF[A]),
        ("tracker", DEAD_LETTER_QUEUE),
        ("operator", QUEUE_OF[A]),
        ("operator", TAP_QUEUE),
        ("operator", ALERTS_QUEUE),
    ],
)
async def test_reading_another_queue_is_refused(fed: Federation, who: str, queue: str) -> None:
    url, _ = _url_and_user(fed, who)
    with pytest.raises(ChannelAccessRefused, match=f"access to queue '{queue}'"):
        await _consume(url, queue)


async def test_tracker_reads_its_three_tap_queues(fed: Federation) -> None:
    for queue in (TAP_QUEUE, TAP_OVERFLOW_QUEUE, TAP_LOST_QUEUE):
        await _consume(fed.tracker_url(), queue)  # ACCESS_REFUSED would raise


async def test_agency_cannot_declare_or_bind(fed: Federation) -> None:
    async with await connect(fed.url(A)) as connection:
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED"):
            await asyncio.wait_for(channel.declare_queue("agency.mine", durable=True), TIMEOUT_S)
        channel = await connection.channel()
        with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED"):
            await asyncio.wait_for(channel.declare_exchange("mine", "topic"), TIMEOUT_S)
        # Binding its own queue to every key would let it read everyone's messages.
        channel = await connection.channel()
        own = await channel.get_queue(fed.topology.agency_queue(A), ensure=False)
        with pytest.raises(ChannelAccessRefused, match="ACCESS_REFUSED"):
            await asyncio.wait_for(own.bind(MESSAGES_EXCHANGE, "#"), TIMEOUT_S)


# (g) poison messages


async def test_poison_is_dead_lettered_after_the_delivery_limit(fed: Federation) -> None:
    poison_id, valid_id, later_id = new_message_id(), new_message_id(), new_message_id()
    deliveries = 0
    consumed: dict[str, asyncio.Future[None]] = {
        valid_id: asyncio.get_running_loop().create_future(),
        later_id: asyncio.get_running_loop().create_future(),
    }

    async def on_message(message: AbstractIncomingMessage) -> None:
        nonlocal deliveries
        if message.message_id == poison_id:
            deliveries += 1
            await message.reject(requeue=True)  # fails every time, as a poison message does
            return
        await message.ack()
        if message.message_id in consumed and not consumed[message.message_id].done():
            consumed[message.message_id].set_result(None)

    key = routing_key(REFERRAL, B, C)
    async with await connect(fed.url(C)) as connection:
        channel = await connection.channel()
        # One at a time: the valid message waits behind the poison until it is dead-lettered.
        await channel.set_qos(prefetch_count=1)
        queue = await channel.get_queue(fed.topology.agency_queue(C), ensure=False)
        await queue.consume(on_message)
        await publish(fed.url(B), MESSAGES_EXCHANGE, key, user_id=fed.user(B), message_id=poison_id)
        await publish(fed.url(B), MESSAGES_EXCHANGE, key, user_id=fed.user(B), message_id=valid_id)

        dead = await take(fed.operator_url(), DEAD_LETTER_QUEUE, poison_id)
        await asyncio.wait_for(consumed[valid_id], TIMEOUT_S)
        await publish(fed.url(B), MESSAGES_EXCHANGE, key, user_id=fed.user(B), message_id=later_id)
        await asyncio.wait_for(consumed[later_id], TIMEOUT_S)

    assert deliveries == DELIVERY_LIMIT + 1
    deaths = dead.headers["x-death"]
    assert isinstance(deaths, list)
    assert deaths[0]["reason"] == "delivery_limit"  # type: ignore[index,call-overload]
    assert deaths[0]["queue"] == fed.topology.agency_queue(C)  # type: ignore[index,call-overload]
    assert dead.user_id == fed.user(B)
