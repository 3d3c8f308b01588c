"""The confirmed publisher on the real RabbitMQ: confirmed, unroutable, refused or unavailable."""

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

import broker.amqp.publisher as publisher_module
from broker.amqp.publisher import ConfirmedPublisher
from broker.messaging.errors import BrokerUnavailable, PublishRefused, Unroutable
from broker.tls.client import AmqpTls
from broker.topology.names import ALERTS_EXCHANGE, MESSAGES_EXCHANGE, routing_key
from schemas.ids import new_message_id
from schemas.kinds import MessageKind
from tests.integration.rabbit_federation import TIMEOUT_S, Federation, applied_federation

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
        with pytest.raises(PublishRefused) as refused:
            await publisher.publish(
                ALERTS_EXCHANGE, "alert.reminder.oscc-north", b"{}", message_id=new_message_id()
            )
    finally:
        await publisher.close()
    assert refused.value.code == 406


def _set_write(federation: Federation, agency_id: str, write: str) -> None:
    [granted] = [
        p for p in federation.definitions["permissions"] if p["user"] == federation.user(agency_id)
    ]
    subprocess.run(
        [
            "rabbitmqctl",
            "set_permissions",
            "-p",
            federation.topology.vhost,
            granted["user"],
            granted["configure"],
            write,
            granted["read"],
        ],
        check=True,
        capture_output=True,
        timeout=TIMEOUT_S,
    )


async def test_no_write_permission_is_refused_not_unavailable(federation: Federation) -> None:
    agency = "oscc-north"
    key = routing_key(MessageKind.REFERRAL, agency, "social-east")
    publisher = ConfirmedPublisher(federation.url(agency), user_id=federation.user(agency))
    try:
        _set_write(federation, agency, "^$")
        # Several in flight: the channel error closes the channel under each of them.
        results = await asyncio.gather(
            *(
                publisher.publish(MESSAGES_EXCHANGE, key, b"{}", message_id=new_message_id())
                for _ in range(4)
            ),
            return_exceptions=True,
        )
        assert all(isinstance(r, PublishRefused) and r.code == 403 for r in results), results
        granted = next(
            p["write"]
            for p in federation.definitions["permissions"]
            if p["user"] == federation.user(agency)
        )
        _set_write(federation, agency, granted)
        await publisher.publish(MESSAGES_EXCHANGE, key, b"{}", message_id=new_message_id())
    finally:
        await publisher.close()


async def test_a_wrong_password_is_refused(federation: Federation) -> None:
    user = federation.user("oscc-north")
    url = f"amqp://{quote(user, safe='')}:wrong@127.0.0.1/{quote(federation.topology.vhost)}"
    publisher = ConfirmedPublisher(url, user_id=user)
    with pytest.raises(PublishRefused) as refused:
        await publisher.publish(ALERTS_EXCHANGE, "alert.x.y", b"{}", message_id=new_message_id())
    await publisher.close()
    assert refused.value.code == 403


async def test_an_unreachable_broker_is_unavailable() -> None:
    publisher = ConfirmedPublisher("amqp://guest:guest@127.0.0.1:1/", user_id="guest")
    with pytest.raises(BrokerUnavailable):
        await publisher.publish(ALERTS_EXCHANGE, "alert.x.y", b"{}", message_id=new_message_id())
    await publisher.close()


async def test_publishes_waiting_on_a_failed_connect_do_not_each_connect_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts = 0
    real_connect = publisher_module.connect

    async def counted(url: str, tls: AmqpTls | None = None) -> object:
        nonlocal attempts
        attempts += 1
        return await real_connect(url, tls)

    monkeypatch.setattr(publisher_module, "connect", counted)
    publisher = ConfirmedPublisher("amqp://guest:guest@127.0.0.1:1/", user_id="guest")
    results = await asyncio.gather(
        *(
            publisher.publish(ALERTS_EXCHANGE, "alert.x.y", b"{}", message_id=new_message_id())
            for _ in range(50)
        ),
        return_exceptions=True,
    )
    await publisher.close()
    assert all(isinstance(r, BrokerUnavailable) for r in results)
    assert attempts == 1  # one per burst, not one per publish of the window
