"""The one way a Caselink process builds its TLS context for RabbitMQ, and says how it logs in.

Used by the aiormq hot paths (gateway, tracker), the aio-pika operator tools and the
FastStream notifier alike, so that every client checks the broker the same way: the server's
certificate must chain to the configured CA (or the system's, when none is named) and name
the host connected to; TLS 1.2 at least. A client certificate, when given, is presented
during the handshake; with `external` the login is SASL EXTERNAL, so RabbitMQ takes the user
name from that certificate and the URL carries no password at all.
"""

import ssl
from dataclasses import dataclass
from pathlib import Path

from yarl import URL

from broker.keystore import KeyFilePermissionError, shared_mode


@dataclass(frozen=True)
class AmqpTls:
    """How to connect over amqps://: the context, and whether the certificate is the login."""

    context: ssl.SSLContext
    external: bool = False


def client_context(
    ca_file: Path | None, cert_file: Path | None = None, key_file: Path | None = None
) -> ssl.SSLContext:
    """A client context that verifies the broker, with our certificate when given.

    Raises KeyFilePermissionError when group or others may read the key file, OSError or
    ssl.SSLError when a file is missing or not what it should be, ValueError when only one
    of the certificate and its key is given.
    """
    if (cert_file is None) != (key_file is None):
        raise ValueError("a client certificate needs its key, and a key its certificate")
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert_file is not None and key_file is not None:
        mode = shared_mode(key_file)
        if mode is not None:
            raise KeyFilePermissionError(
                f"{key_file} has mode {mode:o}; a private key must be 0600"
            )
        context.load_cert_chain(cert_file, key_file)
    return context


def login_url(amqp_url: str, tls: AmqpTls | None) -> str:
    """`amqp_url` as the client libraries take it: with `auth=external` under SASL EXTERNAL.

    Raises ValueError for TLS settings with a plain amqp:// URL (they would be ignored and
    the connection go out in clear), and for a password in the URL of an EXTERNAL login.
    """
    if tls is None:
        return amqp_url
    url = URL(amqp_url)
    if url.scheme != "amqps":
        raise ValueError("TLS settings need an amqps:// URL")
    if not tls.external:
        return amqp_url
    if url.password:
        raise ValueError("a certificate login (SASL EXTERNAL) takes no password in the URL")
    # aiormq reads the mechanism from the query (aio-pika passes the URL on unchanged).
    return str(url.update_query(auth="external"))
