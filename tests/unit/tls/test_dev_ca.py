"""The development CA: chains, names, usages, and what it writes to disk."""

import ipaddress
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from broker.cli.app import app
from broker.tls.dev_ca import (
    WARNING,
    DevBundle,
    DevCertsError,
    build_bundle,
    client_files,
    write_bundle,
)

USERS = ["test-oscc-north", "test-social-east", "test-tracker"]


@pytest.fixture(scope="module")
def bundle() -> DevBundle:
    return build_bundle(USERS)


def _verifies(issuer: x509.Certificate, subject: x509.Certificate) -> bool:
    try:
        subject.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, Exception):
        return False
    return True


def test_every_certificate_chains_to_the_ca(bundle: DevBundle) -> None:
    assert _verifies(bundle.ca.certificate, bundle.ca.certificate)  # self-signed
    for issued in (bundle.server, *bundle.clients):
        assert _verifies(bundle.ca.certificate, issued.certificate)
    other = build_bundle(["x"])
    assert not _verifies(other.ca.certificate, bundle.server.certificate)


def test_the_ca_may_sign_and_nothing_else_may(bundle: DevBundle) -> None:
    constraints = bundle.ca.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = bundle.ca.certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    for issued in (bundle.server, *bundle.clients):
        leaf = issued.certificate.extensions
        assert not leaf.get_extension_for_class(x509.BasicConstraints).value.ca
        key_usage = leaf.get_extension_for_class(x509.KeyUsage)
        assert key_usage.critical
        assert key_usage.value.digital_signature
        assert not key_usage.value.key_cert_sign


def test_server_certificate_names_localhost_and_serves_only(bundle: DevBundle) -> None:
    extensions = bundle.server.certificate.extensions
    san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    eku = extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_client_certificates_are_named_after_the_rabbitmq_users(bundle: DevBundle) -> None:
    for user, issued in zip(USERS, bundle.clients, strict=True):
        names = issued.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        assert [name.value for name in names] == [user]
        eku = issued.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        with pytest.raises(x509.ExtensionNotFound):
            issued.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_every_certificate_says_development_only(bundle: DevBundle) -> None:
    for issued in (bundle.ca, bundle.server, *bundle.clients):
        organisation = issued.certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
        assert WARNING in str(organisation[0].value)


def test_refuses_names_a_certificate_cannot_hold() -> None:
    with pytest.raises(ValueError, match="64"):
        build_bundle(["a" * 65])
    with pytest.raises(ValueError, match="twice"):
        build_bundle(["a", "a"])


def test_written_files_are_labelled_private_and_usable(bundle: DevBundle, tmp_path: Path) -> None:
    out = tmp_path / "certs"
    written = write_bundle(bundle, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if path.suffix == ".key" else 0o644), path
        assert "DEVELOPMENT ONLY" in path.read_text(), path
    # Python's ssl (OpenSSL) reads them as written, labels and all: the server presents its
    # certificate, a client checks it against the CA.
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(out / "server.pem", out / "server.key")
    client = ssl.create_default_context(cafile=out / "ca.pem")
    cert, key = client_files(USERS[0])
    client.load_cert_chain(out / cert, out / key)


def test_refuses_a_folder_others_may_read(bundle: DevBundle, tmp_path: Path) -> None:
    out = tmp_path / "open"
    out.mkdir(mode=0o755)
    os.chmod(out, 0o755)
    with pytest.raises(DevCertsError, match="0700"):
        write_bundle(bundle, out)
    assert list(out.iterdir()) == []


def test_never_overwrites(bundle: DevBundle, tmp_path: Path) -> None:
    out = tmp_path / "certs"
    write_bundle(bundle, out)
    before = (out / "ca.key").read_bytes()
    with pytest.raises(DevCertsError, match="exists"):
        write_bundle(build_bundle(USERS), out)
    assert (out / "ca.key").read_bytes() == before


def test_command_issues_one_client_per_user_and_says_development_only(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    result = CliRunner().invoke(
        app,
        ["certs", "dev", "--out", str(out), "--agency", "oscc-north", "--user-prefix", "t-"],
    )
    assert result.exit_code == 0, result.output
    assert "DEVELOPMENT ONLY" in result.output
    users = ["t-oscc-north", "t-tracker", "t-dlq-operator", "t-notifier"]
    assert sorted(p.name for p in out.glob("client-*.pem")) == sorted(
        client_files(user)[0] for user in users
    )


def test_command_refuses_without_agencies(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["certs", "dev", "--out", str(tmp_path / "c")])
    assert result.exit_code == 2
    assert not (tmp_path / "c").exists()
