"""AMQP connections whose frames leave in one send() per turn of the event loop.

aiormq writes each frame set (a publish, an ack) to the socket as soon as it is queued: one
send() per message. On loopback, and in a VM above all, a send costs far more than the bytes
it carries (the kernel runs the receiver's side of TCP and wakes RabbitMQ for each), and the
outbox relay publishes whole batches. Here every frame written during one turn of the event
loop goes out together at the start of the next turn, which adds no waiting of its own.

That needs a batch's frames queued in one turn: aiormq's connection queue holds 10 frame
sets, and a publisher waiting for room there holds its channel's lock, so beyond 10 a batch
went out one publish per turn. The queue here is deeper; it still bounds memory.

amqps:// coalesces too: over TLS each transport write becomes at least one TLS record and a
send of its own, so joining a turn's writes saves the encryption overhead as well. The TLS
context is the one `broker.tls` built from the settings (handed to aiormq, whose context
provider gives it to the transport here), or else aiormq's own from the URL's query.

The URL may name several nodes of a cluster (broker.amqp.nodes): each is tried in turn.
"""

import asyncio
import ssl
from typing import Any

import aiormq
from aiormq.abc import AbstractConnection
from aiormq.connection import SSLContextProvider, TransportFactory
from aiormq.exceptions import AMQPConnectionError, AMQPError
from yarl import URL

from broker.amqp.nodes import NodeRotation, node_urls
from broker.amqp.refusals import refusal_code
from broker.tls.client import AmqpTls, login_url

CONNECT_TIMEOUT_S = 10.0
READ_LIMIT = 2**16  # what asyncio.open_connection uses


class CoalescingWriter(asyncio.StreamWriter):
    """A StreamWriter that joins the writes of one loop turn into one transport write."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        protocol: asyncio.StreamReaderProtocol,
        reader: asyncio.StreamReader,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(transport, protocol, reader, loop)
        self._event_loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._event_loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def flush(self) -> None:
        """Hand everything written so far to the transport now."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        self.flush()
        await super().drain()

    def write_eof(self) -> None:
        self.flush()
        super().write_eof()

    def close(self) -> None:
        self.flush()
        super().close()


async def _ssl_context(url: URL, provider: object) -> ssl.SSLContext | None:
    if url.scheme != "amqps":
        return None
    # aiormq's own provider: the context the connection was given, or one built from the URL
    # (cafile, capath, cadata, certfile, keyfile, no_verify_ssl) as aiormq's TLS transport
    # builds it, so amqps:// URLs mean here what they mean to aiormq.
    if not isinstance(provider, SSLContextProvider):
        raise TypeError("aiormq passed no SSL context provider for an amqps:// URL")
    return await provider.get_context()


class CoalescingTransport(TransportFactory):
    """aiormq's TCP transport (amqp://) or TLS transport (amqps://), with a CoalescingWriter.

    Takes the keyword arguments aiormq passes to its own transports (`ssl_context_provider`);
    connection errors, TLS ones included, raise AMQPConnectionError as aiormq's do.
    """

    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        # aiormq has filled in the scheme's default port (5672, or 5671 for amqps).
        host, port = url.host, url.port
        if host is None or port is None:
            raise AMQPConnectionError("the AMQP URL names no host")
        context = await _ssl_context(url, kwargs.get("ssl_context_provider"))
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(lambda: protocol, host, port, ssl=context)
        except OSError as error:  # ssl.SSLError is an OSError too
            raise AMQPConnectionError(*error.args) from error
        return reader, CoalescingWriter(transport, protocol, reader, loop)


class DeepQueueConnection(aiormq.Connection):
    """An aiormq connection whose outgoing frame queue takes a whole batch of publishes."""

    FRAME_BUFFER_SIZE = 1024


# One rotation per configured URL string, shared by the publisher and subscriptions using it.
_rotations: dict[str, NodeRotation] = {}


async def _connect_one(url: str, tls: AmqpTls | None) -> AbstractConnection:
    connection = DeepQueueConnection(
        login_url(url, tls),
        context=None if tls is None else tls.context,
        transport_factory=CoalescingTransport(),
    )
    try:
        await asyncio.wait_for(connection.connect(), CONNECT_TIMEOUT_S)
    except BaseException:
        await connection.close()
        raise
    return connection


async def connect(amqp_url: str, tls: AmqpTls | None = None) -> AbstractConnection:
    """Open an AMQP connection (amqp:// or amqps://) whose writes are coalesced.

    With `tls`, every URL must be amqps:// (ValueError otherwise) and the login is SASL
    EXTERNAL when `tls.external`.

    When `amqp_url` lists several nodes, the first that accepts wins (the last one that did
    is tried first); when none does, the last node's error is raised. A refusal (login,
    vhost) is raised at once: another node of the same cluster would refuse as well.
    """
    rotation = _rotations.get(amqp_url)
    if rotation is None:
        rotation = _rotations.setdefault(amqp_url, NodeRotation(node_urls(amqp_url)))
    order = rotation.order()
    for url in order[:-1]:
        try:
            connection = await _connect_one(url, tls)
        except (TimeoutError, AMQPError, OSError) as error:
            if refusal_code(error) is not None:
                raise
            continue
        rotation.connected(url)
        return connection
    connection = await _connect_one(order[-1], tls)
    rotation.connected(order[-1])
    return connection
