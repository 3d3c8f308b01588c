"""Which RabbitMQ node to connect to when the AMQP URL names a cluster's nodes (pure).

aiormq connects to the one host of its URL, and a plain connection reconnects only when
its owner opens a new one (the publisher after a failure, the subscription when it is no
longer alive). So a node lost for good, not merely restarted, would stop a gateway tied to
it. An `amqp_url` may therefore list several URLs separated by spaces (a space never occurs
in a URL), one per node of the same cluster, each with the same user and vhost:

    amqp://gw:PASSWORD@node1:5672/vhost amqp://gw:PASSWORD@node2:5672/vhost

Each new connection tries them in turn, starting with the node that last took one: a
gateway stays on its node while that node is up, and moves on when it is not.
"""

from dataclasses import dataclass, field


def node_urls(amqp_url: str) -> list[str]:
    """The URLs of `amqp_url`, in order: one, or a cluster's several (space-separated)."""
    urls = amqp_url.split()
    if not urls:
        raise ValueError("the AMQP URL is empty")
    return urls


@dataclass
class NodeRotation:
    """The order in which to try a cluster's nodes: the last one that worked first."""

    urls: list[str]
    _first: int = field(default=0, init=False)

    def order(self) -> list[str]:
        return self.urls[self._first :] + self.urls[: self._first]

    def connected(self, url: str) -> None:
        """`url` took a connection: the next connection tries it first."""
        self._first = self.urls.index(url)
