"""The TLS settings every RabbitMQ client reads, and the one SSLContext built from them."""

import os
import ssl
from pathlib import Path

import pytest
from pydantic import ValidationError

from broker.keystore import KeyFilePermissionError
from broker.tls.client import AmqpTls, client_context, login_url
from broker.tls.dev_ca import build_bundle, client_files, write_bundle
from broker.tls.settings import AmqpTlsFields

URL = "amqps://broker.example:5671/caselink"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tls") / "certs"
    write_bundle(build_bundle(["oscc-north"]), out)
    return out


def _fields(certs: Path, **changes: object) -> AmqpTlsFields:
    cert, key = client_files("oscc-north")
    values: dict[str, object] = {
        "amqp_url": URL,
        "amqp_ca_file": certs / "ca.pem",
        "amqp_cert_file": certs / cert,
        "amqp_key_file": certs / key,
        "amqp_login": "certificate",
    }
    values.update(changes)
    return AmqpTlsFields.model_validate(values)


def test_no_tls_fields_means_no_context() -> None:
    assert AmqpTlsFields(amqp_url="amqp://u:p@h/v").amqp_tls() is None
    # amqps:// alone keeps aiormq's meaning (system CAs, or ?cafile= in the URL)
    assert AmqpTlsFields(amqp_url=URL).amqp_tls() is None


def test_certificate_login_builds_a_verifying_context(certs: Path) -> None:
    tls = _fields(certs).amqp_tls()
    assert tls is not None
    assert tls.external
    assert tls.context.verify_mode == ssl.CERT_REQUIRED
    assert tls.context.check_hostname
    assert tls.context.minimum_version == ssl.TLSVersion.TLSv1_2


def test_password_login_over_tls(certs: Path) -> None:
    tls = _fields(certs, amqp_url="amqps://u:p@broker/caselink", amqp_login="password").amqp_tls()
    assert tls is not None
    assert not tls.external


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"amqp_url": "amqp://broker/caselink"}, "amqps://"),
        ({"amqp_url": "amqps://u:secret@broker/caselink"}, "no password"),
        ({"amqp_key_file": None}, "go together"),
        ({"amqp_cert_file": None, "amqp_key_file": None}, "needs amqp_cert_file"),
    ],
)
def test_contradictions_are_refused_when_read(
    certs: Path, changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(ValidationError, match=reason):
        _fields(certs, **changes)


def test_a_key_others_may_read_is_refused(certs: Path, tmp_path: Path) -> None:
    cert, key = client_files("oscc-north")
    open_key = tmp_path / "open.key"
    open_key.write_bytes((certs / key).read_bytes())
    os.chmod(open_key, 0o644)
    with pytest.raises(KeyFilePermissionError, match="0600"):
        client_context(certs / "ca.pem", certs / cert, open_key)


def test_login_url_asks_for_external_only_with_a_certificate_login() -> None:
    context = ssl.create_default_context()
    assert login_url(URL, None) == URL
    assert login_url(URL, AmqpTls(context)) == URL
    assert login_url(URL, AmqpTls(context, external=True)) == f"{URL}?auth=external"
    with pytest.raises(ValueError, match="amqps"):
        login_url("amqp://broker/caselink", AmqpTls(context))
