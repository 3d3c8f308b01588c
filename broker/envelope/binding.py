"""What the cryptography binds together: HPKE info, the signed input, the commitment.

Every construction starts with its own domain-separation label ending in a NUL byte, so
bytes produced for one purpose can never be replayed as input to another.
"""

from __future__ import annotations

import hashlib

INFO_LABEL = b"caselink/envelope/v1\x00"
SIGNATURE_LABEL = b"caselink/envelope/v1/sig\x00"
COMMIT_LABEL = b"caselink/commit/v1\x00"


def hpke_info(header_json: bytes) -> bytes:
    """HPKE info: label || SHA-256(canonical header); any header change breaks decryption."""
    return INFO_LABEL + hashlib.sha256(header_json).digest()


def signed_input(header_json: bytes, ciphertext: bytes) -> bytes:
    """Ed25519 input: label || u64be(len h) || h || u64be(len c) || c (length-prefixed)."""
    return b"".join(
        (
            SIGNATURE_LABEL,
            len(header_json).to_bytes(8, "big"),
            header_json,
            len(ciphertext).to_bytes(8, "big"),
            ciphertext,
        )
    )


# The label absorbed once: commitment() copies this state instead of hashing a fresh
# label || salt || body concatenation (no 2 KB copy of the body).
_COMMIT_STATE = hashlib.sha256(COMMIT_LABEL)


def commitment(salt: bytes, body_json: bytes) -> str:
    """Hex SHA-256(label || salt || body JSON); the salt stops guessing short bodies."""
    state = _COMMIT_STATE.copy()
    state.update(salt)
    state.update(body_json)
    return state.hexdigest()
