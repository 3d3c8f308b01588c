"""HPKE suites, size limits and plaintext padding: the fixed numbers of format version 1."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke

from broker.envelope.errors import EnvelopeTooLarge, MalformedEnvelope
from schemas.kinds import KeyAlgorithm, Suite

# The limit is part of the wire contract, so schemas states it; re-exported for the codec.
from schemas.sealed_envelope import MAX_ENVELOPE_BYTES as MAX_ENVELOPE_BYTES

MIN_BUCKET = 1024
MAX_BUCKET = 8 * 1024 * 1024
"""Padded plaintext sizes are powers of two in [MIN_BUCKET, MAX_BUCKET]; base64 of the
largest ciphertext (about 11.2 MB) leaves room for the header under MAX_ENVELOPE_BYTES."""

SALT_LEN = 32
SIGNATURE_LEN = 64
AEAD_TAG_LEN = 16
PAD_MARKER = 0x80
MAX_BODY_BYTES = MAX_BUCKET - SALT_LEN - 1

DEFAULT_TTL_S = 14 * 86400
MAX_TTL_S = 31 * 86400
"""Longest issued_at..expires_at window: bounds how long a recipient keeps seen message ids,
and stops a sender from stretching a message far beyond its signing key's validity."""
DEFAULT_MAX_SKEW_S = 300


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """One HPKE suite: RFC 9180 ids, the cryptography object, and the key algorithm it uses."""

    suite: Suite
    hpke: hpke.Suite
    kem_id: int
    kdf_id: int
    aead_id: int
    enc_len: int
    alg: KeyAlgorithm
    public_len: int

    def ciphertext_len_ok(self, length: int) -> bool:
        """True when `length` is enc || AEAD(padded bucket) for some allowed bucket."""
        padded = length - self.enc_len - AEAD_TAG_LEN
        return MIN_BUCKET <= padded <= MAX_BUCKET and padded & (padded - 1) == 0


SUITES: dict[Suite, SuiteSpec] = {
    Suite.MLKEM768_X25519: SuiteSpec(
        suite=Suite.MLKEM768_X25519,
        hpke=hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
        kem_id=0x647A,  # MLKEM768-X25519 (X-Wing), draft-ietf-hpke-pq / IANA HPKE registry
        kdf_id=0x0001,  # HKDF-SHA256
        aead_id=0x0002,  # AES-256-GCM
        enc_len=hpke.KEM.MLKEM768_X25519.enc_length(),  # 1088 (ML-KEM) + 32 (X25519)
        alg=KeyAlgorithm.MLKEM768_X25519,
        public_len=1184 + 32,
    ),
    Suite.X25519: SuiteSpec(
        suite=Suite.X25519,
        hpke=hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
        kem_id=0x0020,  # DHKEM(X25519, HKDF-SHA256), RFC 9180 section 7.1
        kdf_id=0x0001,
        aead_id=0x0002,
        enc_len=hpke.KEM.X25519.enc_length(),  # 32
        alg=KeyAlgorithm.X25519,
        public_len=32,
    ),
}
SUITE_BY_ALG: dict[KeyAlgorithm, SuiteSpec] = {spec.alg: spec for spec in SUITES.values()}


def bucket_for(length: int) -> int:
    """Smallest allowed bucket holding `length` bytes plus the 0x80 marker.

    Raises EnvelopeTooLarge when even the largest bucket is too small.
    """
    needed = length + 1
    if needed > MAX_BUCKET:
        raise EnvelopeTooLarge("body exceeds the largest padding bucket")
    bucket = MIN_BUCKET
    while bucket < needed:
        bucket <<= 1
    return bucket


def pad(data: bytes, more: bytes = b"") -> bytes:
    """data || more || 0x80 || zeros, up to the smallest bucket (ISO/IEC 7816-4 style).

    `more` lets seal pad salt and body in one copy instead of concatenating them first.
    """
    length = len(data) + len(more)
    return b"".join((data, more, b"\x80", bytes(bucket_for(length) - length - 1)))


def unpadded_length(padded: bytes) -> int:
    """len(unpad(padded)) without copying the plaintext out; raises MalformedEnvelope."""
    end = len(padded.rstrip(b"\x00")) - 1
    if end < 0 or padded[end] != PAD_MARKER:
        raise MalformedEnvelope("plaintext padding is invalid")
    if bucket_for(end) != len(padded):
        # One plaintext has exactly one padded form: no room for a covert or malleable choice.
        raise MalformedEnvelope("plaintext is not padded to its smallest bucket")
    return end


def unpad(padded: bytes) -> bytes:
    """Inverse of pad; refuses any other padding, including a larger bucket than needed.

    Raises MalformedEnvelope.
    """
    return padded[: unpadded_length(padded)]
