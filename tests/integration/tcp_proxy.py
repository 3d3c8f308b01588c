"""A TCP proxy to the local RabbitMQ that a test can cut and restore.

Cutting it closes every connection through it and stops listening (new connections are
refused), as a broker outage looks to a client; RabbitMQ itself is never touched, so other
tests on the node carry on. Restoring listens on the same port again.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from tests.integration.gateway_harness import free_port

BUFFER = 65536


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target_host`:`target_port` while open."""

    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5672) -> None:
        self.port = free_port()
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pipes: set[asyncio.Task[None]] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        for pipe in list(self._pipes):
            pipe.cancel()
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, upstream_writer))
        for source, sink in ((reader, upstream_writer), (upstream_reader, writer)):
            pipe = asyncio.create_task(_pipe(source, sink))
            self._pipes.add(pipe)
            pipe.add_done_callback(self._pipes.discard)


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(BUFFER):
            sink.write(data)
            await sink.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        sink.transport.abort()


@contextlib.asynccontextmanager
async def tcp_proxy() -> AsyncIterator[TcpProxy]:
    """An open proxy to RabbitMQ, cut at the end."""
    proxy = TcpProxy()
    await proxy.open()
    try:
        yield proxy
    finally:
        await proxy.cut()
