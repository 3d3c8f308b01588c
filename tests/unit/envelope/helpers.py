"""Build envelopes by hand, so tests can tamper with them exactly as an attacker would.

Everything goes through the library's own binding functions so that only the one thing a
test changes differs from a genuine envelope.
"""

import json
import os
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519

from broker.envelope import AgencyKeys, TrustedDirectory, b64d, b64e, canonical_json, seal
from broker.envelope.binding import commitment, hpke_info, signed_input
from broker.envelope.suites import SUITES, pad
from schemas.examples import THREAD_ID, example_body
from schemas.kinds import MessageKind, Suite
from tests.unit.envelope.federation import NOW, Federation


def split(raw: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """(header dict, ciphertext, signature) of a canonical envelope."""
    doc = json.loads(raw)
    return doc["header"], b64d(doc["ciphertext"]), b64d(doc["signature"])


def assemble(header: dict[str, Any], ciphertext: bytes, signature: bytes) -> bytes:
    """The canonical envelope of these parts (whatever they are)."""
    return canonical_json(
        {"ciphertext": b64e(ciphertext), "header": header, "signature": b64e(signature)}
    )


def sign(header: dict[str, Any], ciphertext: bytes, key: ed25519.Ed25519PrivateKey) -> bytes:
    """A valid signature by `key` over this header and ciphertext."""
    return key.sign(signed_input(canonical_json(header), ciphertext))


def encrypt(
    header: dict[str, Any],
    body_json: bytes,
    directory: TrustedDirectory,
    *,
    salt: bytes | None = None,
) -> bytes:
    """HPKE ciphertext of salt || body_json bound to exactly this header."""
    salt = os.urandom(32) if salt is None else salt
    entry = directory.key(header["recipient_kid"])
    assert entry is not None
    assert entry.enc_public is not None
    suite = SUITES[Suite(header["suite"])]
    return suite.hpke.encrypt(
        pad(salt + body_json), entry.enc_public, info=hpke_info(canonical_json(header))
    )


def forge(
    header: dict[str, Any],
    body_json: bytes,
    signer: AgencyKeys,
    directory: TrustedDirectory,
    *,
    salt: bytes | None = None,
    commit: str | None = None,
) -> bytes:
    """An envelope with this exact header (commitment filled in unless given), encrypted
    and signed correctly: the recipient's refusal can only come from the header's content."""
    salt = os.urandom(32) if salt is None else salt
    header = {**header, "commitment": commit or commitment(salt, body_json)}
    ciphertext = encrypt(header, body_json, directory, salt=salt)
    return assemble(header, ciphertext, sign(header, ciphertext, signer.signing.private))


def referral_envelope(
    fed: Federation, *, suite: Suite = Suite.X25519, now: int = NOW, **kwargs: Any
) -> bytes:
    """A genuine referral from police-north to health-east."""
    return seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=fed.directory,
        now=now,
        thread_id=THREAD_ID,
        suite=suite,
        **kwargs,
    )
