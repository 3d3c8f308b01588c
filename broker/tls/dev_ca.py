"""A development certificate authority: a CA, a server certificate and client certificates.

DEVELOPMENT ONLY, never for production: the CA's private key lies in the same folder as
everything it signed, nobody checked who asked for a certificate, and nothing can revoke
one. A federation's real certificates come from its own PKI (see deploy/rabbitmq/README.md).
Every certificate says so in its subject, and every file written here says so in a preamble
(text before the PEM block, which OpenSSL and Erlang's public_key both skip).

A client certificate's common name is a RabbitMQ user name, as `broker.topology` names it:
with SASL EXTERNAL (`ssl_cert_login_from = common_name`) the certificate is the login, so
the gateway's `user_id` must be that name. Client and server certificates are told apart by
their extended key usage (clientAuth, serverAuth), so a client's certificate cannot serve as
the broker's. Keys are ECDSA P-256, which RabbitMQ's Erlang TLS and Python's ssl both take.

`build_bundle` is pure (keys and certificates in memory); `write_bundle` puts them on disk:
keys 0600 in a folder 0700, refused when the folder is open to group or others, nothing
overwritten.
"""

import datetime
import ipaddress
import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker.errors import CaselinkError

WARNING = "DEVELOPMENT ONLY - never for production"
ORGANISATION = f"Caselink {WARNING}"
# X.509 bounds a common name at 64 characters (RFC 5280, ub-common-name).
MAX_COMMON_NAME = 64
DEFAULT_DAYS = 90
DEFAULT_HOSTS = ("localhost", "127.0.0.1")
# Clock skew between the machine that signs and the node that checks.
BACKDATE = datetime.timedelta(minutes=5)


class DevCertsError(CaselinkError):
    """The output folder is unsafe, or a file there would be overwritten."""

    reason = "dev_certs"


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM."""

    name: str
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


@dataclass(frozen=True)
class DevBundle:
    """The CA, the broker's server certificate and one client certificate per user."""

    ca: Issued
    server: Issued
    clients: tuple[Issued, ...]


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _leaf_usage() -> x509.KeyUsage:
    # ECDHE suites sign with the key; nothing else is needed of a leaf.
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _build_ca(now: datetime.datetime, days: int) -> Issued:
    key = _new_key()
    subject = _name("Caselink development CA")
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued("ca", certificate, key)


def _san(hosts: Iterable[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _issue(
    ca: Issued,
    common_name: str,
    usage: x509.ObjectIdentifier,
    now: datetime.datetime,
    days: int,
    san: x509.SubjectAlternativeName | None = None,
) -> Issued:
    key = _new_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_leaf_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if san is not None:
        builder = builder.add_extension(san, critical=False)
    return Issued(common_name, builder.sign(ca.key, hashes.SHA256()), key)


def build_bundle(
    users: Sequence[str],
    *,
    hosts: Sequence[str] = DEFAULT_HOSTS,
    days: int = DEFAULT_DAYS,
    now: datetime.datetime | None = None,
) -> DevBundle:
    """A fresh CA, a server certificate for `hosts` and a client certificate per user name."""
    if not users:
        raise ValueError("no RabbitMQ user to issue a client certificate for")
    too_long = [user for user in users if not 0 < len(user) <= MAX_COMMON_NAME]
    if too_long:
        raise ValueError(f"a common name holds 1 to 64 characters: {', '.join(too_long)}")
    if len(set(users)) != len(users):
        raise ValueError("a RabbitMQ user is named twice")
    if not hosts:
        raise ValueError("the server certificate needs at least one host name or address")
    moment = now or datetime.datetime.now(datetime.UTC)
    ca = _build_ca(moment, days)
    server = _issue(ca, hosts[0], ExtendedKeyUsageOID.SERVER_AUTH, moment, days, san=_san(hosts))
    clients = tuple(
        _issue(ca, user, ExtendedKeyUsageOID.CLIENT_AUTH, moment, days) for user in users
    )
    return DevBundle(ca, server, clients)


def preamble(what: str) -> bytes:
    """The label put before every PEM block written."""
    return (
        f"# Caselink {what}\n"
        f"# {WARNING}: made by `caselink certs dev`; the CA's key lies beside it and\n"
        "# nothing can revoke it. Use your federation's own PKI in production.\n"
    ).encode("ascii")


README = f"""\
{WARNING.upper()}

Made by `caselink certs dev`: a development certificate authority (ca.pem, ca.key), the
RabbitMQ node's certificate (server.pem, server.key) and one client certificate per
RabbitMQ user (client-USER.pem, client-USER.key; the common name is the user name).

Never use these in production: the CA's private key is in this folder, nobody checked who
each certificate was issued to, and no certificate can be revoked. deploy/rabbitmq/README.md
says what a production set-up needs.
"""


def client_files(user: str) -> tuple[str, str]:
    """The certificate and key file names of `user`'s client certificate."""
    return f"client-{user}.pem", f"client-{user}.key"


def _refuse_open_folder(out: Path) -> None:
    if out.is_symlink() or not out.is_dir():
        raise DevCertsError(f"{out} is not a folder")
    mode = stat.S_IMODE(out.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise DevCertsError(f"{out} has mode {mode:o}; it must be 0700 (it will hold keys)")


def _write(path: Path, content: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise DevCertsError(f"{path} exists; refusing to overwrite it") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)


def write_bundle(bundle: DevBundle, out: Path) -> list[Path]:
    """Write `bundle` into `out` (made 0700 when missing); the paths written, in order.

    Raises DevCertsError when `out` is open to group or others, or a file exists.
    """
    if not out.exists():
        out.mkdir(mode=0o700, parents=True)
    _refuse_open_folder(out)
    files: list[tuple[str, bytes, int]] = [
        ("README.txt", README.encode("ascii"), 0o644),
        ("ca.pem", preamble("development CA certificate") + bundle.ca.certificate_pem(), 0o644),
        ("ca.key", preamble("development CA private key") + bundle.ca.key_pem(), 0o600),
        (
            "server.pem",
            preamble("RabbitMQ server certificate") + bundle.server.certificate_pem(),
            0o644,
        ),
        ("server.key", preamble("RabbitMQ server private key") + bundle.server.key_pem(), 0o600),
    ]
    for client in bundle.clients:
        cert_name, key_name = client_files(client.name)
        what = f"client certificate of RabbitMQ user {client.name}"
        files.append((cert_name, preamble(what) + client.certificate_pem(), 0o644))
        files.append((key_name, preamble(f"private key of {what}") + client.key_pem(), 0o600))
    for name, _, _ in files:
        if (out / name).exists():
            raise DevCertsError(f"{out / name} exists; refusing to overwrite it")
    written = []
    for name, content, mode in files:
        _write(out / name, content, mode)
        written.append(out / name)
    return written
