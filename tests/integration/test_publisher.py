"""The confirmed publisher on the real RabbitMQ: confirmed, unroutable, or unavailable."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from broker.amqp.publisher import ConfirmedPublisher
from broker.messaging.errors import BrokerUnavailable, Unroutable
from broker.topology.names import ALERTS_EXCHANGE
from schemas.ids import new_message_id
from tests.integration.rabbit_federation import Federation, applied_federation

pytestmark = pytest.mark.rabbitmq


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[Federation]:
    with applied_federation(tmp_path / "secrets.json") as applied:
        yield applied


async def test_unroutable_is_an_error_not_a_silent_drop(federation: Federation) -> None:
    publisher = ConfirmedPublisher(federation.admin_url(), user_id="guest")
    try:
        # Confirmed: the coordinators' queue takes alert.#.
        await publisher.publish(
            ALERTS_EXCHANGE, "alert.reminder.oscc-north", b"{}", message_id=new_message_id()
        )
        with pytest.raises(Unroutable):
            await publisher.publish(
                ALERTS_EXCHANGE, "nobody.listens.here", b"{}", message_id=new_message_id()
            )
        # The channel survives a return: the next publish is confirmed again.
        await publisher.publish(
            ALERTS_EXCHANGE, "alert.reminder.oscc-north", b"{}", message_id=new_message_id()
        )
    finally:
        await publisher.close()


async def test_a_forged_user_id_is_refused_by_the_broker(federation: Federation) -> None:
    publisher = ConfirmedPublisher(federation.url("oscc-north"), user_id="someone-else")
    try:
        with pytest.raises(BrokerUnavailable):
            await publisher.publish(
                ALERTS_EXCHANGE, "alert.reminder.oscc-north", b"{}", message_id=new_message_id()
            )
    finally:
        await publisher.close()


async def test_an_unreachable_broker_is_unavailable() -> None:
    publisher = ConfirmedPublisher("amqp://guest:guest@127.0.0.1:1/", user_id="guest")
    with pytest.raises(BrokerUnavailable):
        await publisher.publish(ALERTS_EXCHANGE, "alert.x.y", b"{}", message_id=new_message_id())
    await publisher.close()
