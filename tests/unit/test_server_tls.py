"""The HTTPS certificate and key, checked at start: each fault one clear error, never the
key; a good pair gives a TLS 1.2+ context."""

import ssl
from pathlib import Path

import pytest

from broker.keystore import KeyFilePermissionError
from broker.tls.server import TlsFilesError, server_context
from tests.server_certs import self_signed


def test_neither_file_is_plain_http() -> None:
    assert server_context(None, None) is None


def test_a_good_pair_is_a_tls_1_2_context(tmp_path: Path) -> None:
    pair = self_signed(tmp_path)
    context = server_context(pair.certificate, pair.key)
    assert context is not None
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    assert all(c["protocol"] in ("TLSv1.2", "TLSv1.3") for c in context.get_ciphers())
    tls12 = [c for c in context.get_ciphers() if c["protocol"] == "TLSv1.2"]
    assert tls12
    assert all(c["aead"] and c["kea"] == "kx-ecdhe" for c in tls12)


@pytest.mark.parametrize("given", ["certificate", "key"])
def test_one_of_the_pair_alone_is_refused(tmp_path: Path, given: str) -> None:
    pair = self_signed(tmp_path)
    only = (pair.certificate, None) if given == "certificate" else (None, pair.key)
    with pytest.raises(TlsFilesError, match="tls_certificate and tls_key go together"):
        server_context(*only)


def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    pair = self_signed(tmp_path)
    pair.key.chmod(0o644)
    with pytest.raises(KeyFilePermissionError, match="has mode 644; it must be 0600"):
        server_context(pair.certificate, pair.key)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    pair = self_signed(tmp_path)
    with pytest.raises(FileNotFoundError) as missing:
        server_context(tmp_path / "absent.crt", pair.key)
    assert missing.value.filename == str(tmp_path / "absent.crt")
    with pytest.raises(FileNotFoundError) as missing:
        server_context(pair.certificate, tmp_path / "absent.key")
    assert missing.value.filename == str(tmp_path / "absent.key")


def test_a_key_of_another_certificate_is_refused(tmp_path: Path) -> None:
    ours, theirs = self_signed(tmp_path, "ours"), self_signed(tmp_path, "theirs")
    with pytest.raises(TlsFilesError, match="is not the key of the certificate"):
        server_context(ours.certificate, theirs.key)


def test_files_that_are_not_pem_are_named(tmp_path: Path) -> None:
    pair = self_signed(tmp_path)
    with pytest.raises(TlsFilesError, match=r"server\.key is not a PEM certificate"):
        server_context(pair.key, pair.key)
    pair.certificate.chmod(0o600)  # as a key would be
    with pytest.raises(TlsFilesError, match=r"server\.crt is not a PEM private key") as refused:
        server_context(pair.certificate, pair.certificate)
    assert "BEGIN" not in str(refused.value)


def test_an_encrypted_key_is_refused_without_asking_for_a_password(tmp_path: Path) -> None:
    pair = self_signed(tmp_path, password=b"synthetic-passphrase")
    with pytest.raises(TlsFilesError, match="is encrypted"):
        server_context(pair.certificate, pair.key)
