"""amqps:// keeps write coalescing: a real TLS pair on 127.0.0.1, with a relay counting records.

The server's certificate is made here with `cryptography` and written to the test's own
temporary folder; no key is committed. Between client and server a plain TCP relay reads
the TLS record headers the client sends, so the tests see on the wire how many records a
turn's writes became.
"""

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiormq.connection import SSLContextProvider
from aiormq.exceptions import AMQPConnectionError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker.amqp import connection as amqp_connection
from broker.amqp.connection import CoalescingTransport, CoalescingWriter, DeepQueueConnection

APPLICATION_DATA = 23  # TLS record content type
RECORD_HEADER = 5  # type (1), legacy version (2), length (2)
AMQP_PROTOCOL_HEADER = b"AMQP\x00\x00\x09\x01"


def write_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed server certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caselink test broker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "broker.crt", folder / "broker.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class RecordCountingRelay:
    """Relays TCP both ways and counts the application-data records the client sends."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.application_records = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        self._writers += [writer, upstream_writer]
        for task in (
            self._pump(reader, upstream_writer, count=True),
            self._pump(upstream_reader, writer, count=False),
        ):
            self._tasks.add(asyncio.create_task(task))

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, count: bool
    ) -> None:
        pending = b""
        while data := await source.read(65536):
            if count:
                pending = self._count(pending + data)
            # Counted before forwarded: once the server has a byte, its record is counted.
            sink.write(data)
            await sink.drain()
        sink.close()

    def _count(self, data: bytes) -> bytes:
        while len(data) >= RECORD_HEADER:
            length = int.from_bytes(data[3:5], "big")
            if len(data) < RECORD_HEADER + length:
                break
            if data[0] == APPLICATION_DATA:
                self.application_records += 1
            data = data[RECORD_HEADER + length :]
        return data

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await close_all(self._writers)


async def close_all(writers: list[asyncio.StreamWriter]) -> None:
    """Close each writer and wait until it is closed, whatever state its peer left it in."""
    for writer in writers:
        writer.close()
    await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)


@dataclass
class TlsBroker:
    """A TLS server that stands in for the broker, reached through the counting relay."""

    port: int
    cafile: Path
    relay: RecordCountingRelay
    accepted: "asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]]"

    def url(self, query: str) -> str:
        return f"amqps://guest:guest@127.0.0.1:{self.port}/caselink?{query}"


@pytest.fixture
async def tls_broker(tmp_path: Path) -> AsyncIterator[TlsBroker]:
    cert_path, key_path = write_certificate(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_path, key_path)
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(accept, "127.0.0.1", 0, ssl=server_context)
    relay = RecordCountingRelay(server.sockets[0].getsockname()[1])
    relay_server = await asyncio.start_server(relay.handle, "127.0.0.1", 0)
    port = relay_server.sockets[0].getsockname()[1]
    try:
        yield TlsBroker(port, cert_path, relay, accepted)
    finally:
        served = [accepted.get_nowait()[1] for _ in range(accepted.qsize())]
        await close_all(served)
        await relay.close()
        for listening in (relay_server, server):
            listening.close()
            await listening.wait_closed()


async def open_through_factory(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """The transport as aiormq's Connection.connect() asks the factory for it."""
    connection = DeepQueueConnection(url, transport_factory=CoalescingTransport())
    provider = SSLContextProvider(
        ssl_context=None, ssl_certs=connection.ssl_certs, loop=asyncio.get_running_loop()
    )
    return await CoalescingTransport().create(connection.url, ssl_context_provider=provider)


async def test_a_turns_writes_leave_as_one_tls_record(tls_broker: TlsBroker) -> None:
    _, writer = await open_through_factory(tls_broker.url(f"cafile={tls_broker.cafile}"))
    assert isinstance(writer, CoalescingWriter)
    assert writer.get_extra_info("ssl_object") is not None
    server_reader, _ = await tls_broker.accepted.get()

    # The handshake's last client record (TLS 1.3 encrypts it as application data) is past
    # the relay once the server has read what followed it.
    writer.write(b"ready")
    assert await server_reader.readexactly(5) == b"ready"
    before = tls_broker.relay.application_records

    frames = [AMQP_PROTOCOL_HEADER, b"frame-one", b"frame-two", b"frame-three"]
    for frame in frames:
        writer.write(frame)
    joined = b"".join(frames)
    assert await server_reader.readexactly(len(joined)) == joined
    coalesced = tls_broker.relay.application_records - before

    # The same writes without coalescing, straight to the TLS transport: one record each.
    for frame in frames:
        writer.transport.write(frame)
    assert await server_reader.readexactly(len(joined)) == joined
    one_by_one = tls_broker.relay.application_records - before - coalesced

    assert (coalesced, one_by_one) == (1, len(frames))
    await close_all([writer])


async def test_connect_sends_amqps_through_the_coalescing_writer(
    tls_broker: TlsBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    flushed: list[bytes] = []
    flush = CoalescingWriter.flush

    def recording_flush(self: CoalescingWriter) -> None:
        flushed.extend(self._pending)
        flush(self)

    monkeypatch.setattr(CoalescingWriter, "flush", recording_flush)
    connecting = asyncio.create_task(
        amqp_connection.connect(tls_broker.url(f"cafile={tls_broker.cafile}"))
    )
    server_reader, server_writer = await tls_broker.accepted.get()
    assert await server_reader.readexactly(len(AMQP_PROTOCOL_HEADER)) == AMQP_PROTOCOL_HEADER
    await close_all([server_writer])  # no AMQP behind it: the handshake fails, and that is all
    with pytest.raises(AMQPConnectionError):
        await connecting
    assert flushed == [AMQP_PROTOCOL_HEADER]


async def test_the_certificate_is_verified_unless_the_url_says_not(tls_broker: TlsBroker) -> None:
    with pytest.raises(AMQPConnectionError):
        await open_through_factory(tls_broker.url("name=no-cafile"))
    _, writer = await open_through_factory(tls_broker.url("no_verify_ssl=1"))
    assert isinstance(writer, CoalescingWriter)
    await close_all([writer])


async def test_amqp_stays_plain_tcp() -> None:
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        _, writer = await open_through_factory(f"amqp://127.0.0.1:{port}/")
        assert isinstance(writer, CoalescingWriter)
        assert writer.get_extra_info("ssl_object") is None
        await close_all([writer, await accepted.get()])
    finally:
        server.close()
        await server.wait_closed()
