"""AMQP connections whose frames leave in one send() per turn of the event loop.

aiormq writes each frame set (a publish, an ack) to the socket as soon as it is queued: one
send() per message. On loopback, and in a VM above all, a send costs far more than the bytes
it carries (the kernel runs the receiver's side of TCP and wakes RabbitMQ for each), and the
outbox relay publishes whole batches. Here every frame written during one turn of the event
loop goes out together at the start of the next turn, which adds no waiting of its own.

That needs a batch's frames queued in one turn: aiormq's connection queue holds 10 frame
sets, and a publisher waiting for room there holds its channel's lock, so beyond 10 a batch
went out one publish per turn. The queue here is deeper; it still bounds memory.
"""

import asyncio
from typing import Any

import aiormq
from aiormq.abc import AbstractConnection
from aiormq.connection import TransportFactory
from aiormq.exceptions import AMQPConnectionError
from yarl import URL

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


class CoalescingTcp(TransportFactory):
    """aiormq's plain-TCP transport with a CoalescingWriter."""

    async def create(
        self, url: URL, **_kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = url.host, url.port  # aiormq has filled in the default port
        if host is None or port is None:
            raise AMQPConnectionError("the AMQP URL names no host")
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(lambda: protocol, host, port)
        except OSError as error:
            raise AMQPConnectionError(*error.args) from error
        return reader, CoalescingWriter(transport, protocol, reader, loop)


class DeepQueueConnection(aiormq.Connection):
    """An aiormq connection whose outgoing frame queue takes a whole batch of publishes."""

    FRAME_BUFFER_SIZE = 1024


async def connect(amqp_url: str) -> AbstractConnection:
    """Open an AMQP connection; amqps:// keeps aiormq's own TLS transport."""
    factory = CoalescingTcp() if URL(amqp_url).scheme == "amqp" else None
    connection = DeepQueueConnection(amqp_url, transport_factory=factory)
    try:
        await asyncio.wait_for(connection.connect(), CONNECT_TIMEOUT_S)
    except BaseException:
        await connection.close()
        raise
    return connection
