"""Self-signed server certificates for HTTPS tests: made with cryptography, key 0600."""

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from cryptography.x509.oid import NameOID

from broker.keystore import write_private


@dataclass(frozen=True)
class ServerCertificate:
    certificate: Path  # PEM; a client trusts it as its own CA (self-signed)
    key: Path  # PEM, unencrypted unless asked, mode 0600


def self_signed(
    folder: Path, name: str = "server", *, password: bytes | None = None
) -> ServerCertificate:
    """A P-256 certificate for 127.0.0.1 and localhost, valid for a day, in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caselink test server")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = ServerCertificate(folder / f"{name}.crt", folder / f"{name}.key")
    paths.certificate.write_bytes(certificate.public_bytes(Encoding.PEM))
    encryption = NoEncryption() if password is None else BestAvailableEncryption(password)
    write_private(paths.key, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption))
    return paths
