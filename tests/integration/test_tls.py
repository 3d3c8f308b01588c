"""TLS and identity on a RabbitMQ node of the test's own: TLS only, a certificate required,
an agency's RabbitMQ identity its certificate (SASL EXTERNAL, common name).

The node (tests/integration/tls_node.py) listens on a spare port of 5681-5689 with no TCP
listener, its certificates come from the development CA made here, and the Caselink
topology for two agencies is applied to it with rabbitmqctl. The machine's node on 5672 is
not used. Without RabbitMQ's scripts this skips, or fails under CI=true.
"""

import asyncio
import os
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiormq.exceptions import AMQPError
from faststream.rabbit import RabbitBroker, RabbitQueue

from broker.amqp.connection import connect
from broker.amqp.publisher import ConfirmedPublisher
from broker.amqp.subscription import QueueSubscription
from broker.app.notifier import notifier_security
from broker.envelope import verify_directory
from broker.gateway.service import Gateway
from broker.messaging.errors import PublishRefused, SubscribeRefused
from broker.operator.apply import apply_definitions
from broker.operator.dead_letters import dead_letter_depth
from broker.tls.client import AmqpTls, client_context, login_url
from broker.tls.dev_ca import build_bundle, client_files, write_bundle
from broker.topology.names import MESSAGES_EXCHANGE, NOTIFIER_QUEUE, Topology, routing_key
from schemas.examples import example_body
from schemas.kinds import MessageKind
from tests.integration.gateway_harness import KeyedFederation, eventually, make_gateway, running
from tests.integration.rabbit_federation import Federation, definitions_for, make_keys
from tests.integration.tls_node import TlsNode, missing, tls_node

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]

AGENCIES = ("oscc-north", "social-east")
TOPOLOGY = Topology()  # the node is ours alone: the default vhost and names


class TlsFederation:
    """The node, the certificates and a keyed federation applied to the node."""

    def __init__(self, node: TlsNode, certs: Path, keyed: KeyedFederation) -> None:
        self.node = node
        self.certs = certs
        self.keyed = keyed

    @property
    def url(self) -> str:
        # No user, no password: the certificate is the login.
        return f"amqps://localhost:{self.node.port}/{TOPOLOGY.vhost}"

    def tls(self, user: str, *, external: bool = True) -> AmqpTls:
        cert, key = client_files(user)
        context = client_context(self.certs / "ca.pem", self.certs / cert, self.certs / key)
        return AmqpTls(context, external=external)


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsFederation]:
    reason = missing()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI=true: service tests must run)")
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("tls")
    certs = folder / "certs"
    root, keys, signed = make_keys(AGENCIES)
    trusted = verify_directory(signed, root.public())
    agency_ids = [agency.id for agency in trusted.directory.agencies]
    write_bundle(build_bundle(TOPOLOGY.users(agency_ids)), certs)
    (folder / "node").mkdir(mode=0o700)
    with tls_node(folder / "node", certs) as node:
        passwords, definitions = definitions_for(TOPOLOGY, trusted.directory, folder / "pw.json")
        apply_definitions(definitions, ctl=node.ctl)
        applied = Federation(
            TOPOLOGY, trusted.directory, folder / "pw.json", passwords, definitions
        )
        yield TlsFederation(node, certs, KeyedFederation(applied, root, keys, signed, trusted))


async def _handshake(port: int, context: ssl.SSLContext) -> None:
    _, writer = await asyncio.open_connection("localhost", port, ssl=context)
    writer.close()


async def _open(url: str, tls: AmqpTls) -> None:
    connection = await connect(url, tls)
    await connection.close()


async def test_a_referral_travels_between_gateways_logged_in_by_certificate(
    federation: TlsFederation, tmp_path: Path
) -> None:
    def gateway(agency_id: str) -> Gateway:
        return make_gateway(
            federation.keyed,
            agency_id,
            tmp_path,
            amqp_url=federation.url,
            tls=federation.tls(TOPOLOGY.agency_user(agency_id)),
        )

    async with running(gateway("oscc-north")) as north, running(gateway("social-east")) as east:
        sent = await north.submit(
            example_body(MessageKind.REFERRAL), kind=MessageKind.REFERRAL, recipient="social-east"
        )

        async def arrived() -> bool:
            return await east.store.inbox_message(sent.message_id) is not None

        async def acknowledged() -> bool:  # east's automatic `received`, back over TLS
            return (await north.store.counts())["inbox_total"] >= 1

        await eventually(arrived, "the referral in social-east's inbox")
        await eventually(acknowledged, "social-east's acknowledgement at oscc-north")
        stored = await east.store.inbox_message(sent.message_id)
        assert stored is not None
        assert stored.sender == "oscc-north"  # RabbitMQ's user_id: the certificate's name


async def test_a_client_without_a_certificate_is_refused_at_the_handshake(
    federation: TlsFederation,
) -> None:
    # TLS 1.2: the server asks for a certificate inside the handshake, so its refusal ends
    # the handshake itself (under 1.3 it comes as an alert right after).
    context = client_context(federation.certs / "ca.pem")
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with pytest.raises(ssl.SSLError):
        await _handshake(federation.node.port, context)
    # The client as deployed (1.3 offered) fails to connect at all.
    no_certificate = AmqpTls(client_context(federation.certs / "ca.pem"), external=True)
    with pytest.raises((AMQPError, OSError)):
        await _open(federation.url, no_certificate)


async def test_a_certificate_from_another_ca_is_refused(
    federation: TlsFederation, tmp_path: Path
) -> None:
    stranger = tmp_path / "stranger"
    write_bundle(build_bundle([TOPOLOGY.agency_user("oscc-north")]), stranger)
    cert, key = client_files(TOPOLOGY.agency_user("oscc-north"))
    context = client_context(federation.certs / "ca.pem", stranger / cert, stranger / key)
    with pytest.raises((AMQPError, OSError)):
        await _open(federation.url, AmqpTls(context, external=True))


async def test_another_agencys_certificate_cannot_read_or_publish_as_the_first(
    federation: TlsFederation,
) -> None:
    east = federation.tls(TOPOLOGY.agency_user("social-east"))
    subscription = QueueSubscription(
        federation.url, TOPOLOGY.agency_queue("oscc-north"), prefetch=1, tls=east
    )
    with pytest.raises(SubscribeRefused) as refused:
        await subscription.start()
    assert refused.value.code == 403
    await subscription.stop()

    # As oscc-north by its user_id: RabbitMQ checks it against the certificate's name.
    forged = ConfirmedPublisher(
        federation.url, user_id=TOPOLOGY.agency_user("oscc-north"), tls=east
    )
    with pytest.raises(PublishRefused) as wrong_user:
        await forged.publish(
            MESSAGES_EXCHANGE,
            routing_key("referral", "social-east", "oscc-north"),  # a key east may use
            b"{}",
            message_id="forged-user-id",
        )
    assert wrong_user.value.code == 406
    await forged.close()

    # As oscc-north by its routing key: the topic permission names social-east alone.
    own_name = ConfirmedPublisher(
        federation.url, user_id=TOPOLOGY.agency_user("social-east"), tls=east
    )
    with pytest.raises(PublishRefused) as wrong_key:
        await own_name.publish(
            MESSAGES_EXCHANGE,
            routing_key("referral", "oscc-north", "social-east"),
            b"{}",
            message_id="forged-routing-key",
        )
    assert wrong_key.value.code == 403
    await own_name.close()


def test_the_node_has_no_plain_listener(federation: TlsFederation) -> None:
    listeners = federation.node.run_ctl("status", "--formatter", "json")
    assert listeners.returncode == 0, listeners.stderr
    assert '"protocol":"amqp/ssl"' in listeners.stdout.replace(" ", "")
    assert '"protocol":"amqp"' not in listeners.stdout.replace(" ", "")


async def test_the_operator_and_notifier_paths_log_in_by_certificate(
    federation: TlsFederation,
) -> None:
    # aio-pika (`caselink dlq`) with the dead-letter operator's certificate.
    operator = federation.tls(TOPOLOGY.operator_user())
    depth = await dead_letter_depth(federation.url, 10, tls=operator)
    assert depth.messages == 0
    # FastStream (the notifier) with the notifier's: its own queue, looked up passively.
    notifier = federation.tls(TOPOLOGY.notifier_user())
    broker = RabbitBroker(login_url(federation.url, notifier), security=notifier_security(notifier))
    await broker.connect()
    try:
        queue = await broker.declare_queue(RabbitQueue(NOTIFIER_QUEUE, declare=False))
        assert queue.name == NOTIFIER_QUEUE
    finally:
        await broker.stop()
