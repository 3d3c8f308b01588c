"""HTTPS for the gateway's API and the dashboard: the certificate and key the settings name,
checked before anything starts, as one TLS server context.

Checked here rather than left to the server: uvicorn would find a missing, encrypted or
mismatched key only once it is listening, as a traceback ("PEM lib"), or ask for a password
on a terminal nobody watches. Each fault is a CaselinkError or an OSError naming the file,
which the command line prints as one line.
"""

import ssl
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)

from broker.errors import CaselinkError
from broker.keystore import read_private

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"
"""TLS 1.2's suites: forward secrecy and authenticated encryption only (TLS 1.3's own are
all so, and set_ciphers does not touch them)."""


class TlsFilesError(CaselinkError):
    """The HTTPS certificate or key is missing one of the pair, unreadable as PEM, encrypted,
    or not of one another; the message names files and fields, never key material."""

    reason = "bad_tls_files"


def server_context(certificate: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The TLS 1.2+ server context of `certificate` (PEM, the server's first, then any
    intermediates) and `key` (PEM, unencrypted, mode 0600), or None when neither is set.

    Raises TlsFilesError, KeyFilePermissionError (group or others may read the key), or
    OSError naming the file (missing, unreadable).
    """
    if certificate is None and key is None:
        return None
    if certificate is None or key is None:
        raise TlsFilesError("tls_certificate and tls_key go together: set both, or neither")
    check_pair(certificate.read_bytes(), read_private(key), certificate, key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(CIPHERS)
    # The files as checked above; a password callback that fails rather than prompts, should
    # the key have been replaced by an encrypted one in between.
    context.load_cert_chain(certificate, key, password=_no_password)
    return context


def check_pair(certificate_pem: bytes, key_pem: bytes, certificate: Path, key: Path) -> None:
    """Raise TlsFilesError unless `certificate_pem` starts with a certificate whose public
    key is that of `key_pem`, an unencrypted PEM private key. The paths name the files."""
    try:
        leaf = x509.load_pem_x509_certificates(certificate_pem)[0]
    except ValueError:
        raise TlsFilesError(f"{certificate} is not a PEM certificate") from None
    try:
        private = load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsFilesError(f"{key} is encrypted; give the key unencrypted, mode 0600") from None
    except (ValueError, UnsupportedAlgorithm):
        raise TlsFilesError(f"{key} is not a PEM private key") from None
    spki = (Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    if leaf.public_key().public_bytes(*spki) != private.public_key().public_bytes(*spki):
        raise TlsFilesError(f"{key} is not the key of the certificate in {certificate}")


def _no_password() -> bytes:
    raise TlsFilesError("the TLS key is encrypted; give it unencrypted, mode 0600")
