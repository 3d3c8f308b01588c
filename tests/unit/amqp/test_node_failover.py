"""An AMQP URL listing a cluster's nodes: each connection tries them in turn."""

import pytest
from aiormq.exceptions import AMQPConnectionError, ProbableAuthenticationError

from broker.amqp import connection as amqp_connection
from broker.amqp.nodes import NodeRotation, node_urls
from broker.keystore import _holds_password
from broker.tls.client import AmqpTls

N1, N2, N3 = (f"amqp://gw:pw@127.0.0.1:{port}/v" for port in (5691, 5692, 5693))
CLUSTER = f"{N1} {N2}\n {N3}"


def test_one_url_or_several_separated_by_spaces() -> None:
    assert node_urls(N1) == [N1]
    assert node_urls(CLUSTER) == [N1, N2, N3]
    with pytest.raises(ValueError, match="empty"):
        node_urls("  ")


def test_the_node_that_last_took_a_connection_is_tried_first() -> None:
    rotation = NodeRotation([N1, N2, N3])
    assert rotation.order() == [N1, N2, N3]
    rotation.connected(N2)
    assert rotation.order() == [N2, N3, N1]


class FakeNodes:
    """Stands in for _connect_one: the nodes named down refuse TCP, the rest connect."""

    def __init__(self, down: set[str], refusing: frozenset[str] = frozenset()) -> None:
        self.down = down
        self.refusing = refusing
        self.tried: list[str] = []

    async def __call__(self, url: str, tls: AmqpTls | None) -> object:
        self.tried.append(url)
        if url in self.refusing:
            raise ProbableAuthenticationError("ACCESS_REFUSED")
        if url in self.down:
            raise AMQPConnectionError("connection refused")
        return url  # the "connection": which node took it


@pytest.fixture(autouse=True)
def fresh_rotations(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(amqp_connection, "_rotations", {})


async def test_a_lost_node_is_skipped_and_the_next_connection_stays_on_the_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes = FakeNodes(down={N1})
    monkeypatch.setattr(amqp_connection, "_connect_one", nodes)
    assert await amqp_connection.connect(CLUSTER) == N2
    nodes.down = set()  # N1 back: the gateway stays where it is
    assert await amqp_connection.connect(CLUSTER) == N2
    nodes.down = {N2}
    assert await amqp_connection.connect(CLUSTER) == N3
    assert nodes.tried == [N1, N2, N2, N2, N3]


async def test_when_every_node_is_down_the_last_error_is_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes = FakeNodes(down={N1, N2, N3})
    monkeypatch.setattr(amqp_connection, "_connect_one", nodes)
    with pytest.raises(AMQPConnectionError):
        await amqp_connection.connect(CLUSTER)
    assert nodes.tried == [N1, N2, N3]


async def test_a_refusal_is_raised_at_once_since_every_node_would_refuse(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nodes = FakeNodes(down=set(), refusing=frozenset({N1}))
    monkeypatch.setattr(amqp_connection, "_connect_one", nodes)
    with pytest.raises(ProbableAuthenticationError):
        await amqp_connection.connect(CLUSTER)
    assert nodes.tried == [N1]


def test_a_password_in_any_node_url_counts() -> None:
    assert _holds_password("amqp://gw@h1/v amqp://gw:pw@h2/v")
    assert not _holds_password("amqp://gw@h1/v amqp://gw@h2/v")
