"""The sealed envelope as it travels on the wire: a signed clear header beside a ciphertext.

Only the header can be read without the recipient's key; the body (referral, transfer,
consent, acknowledgement) is inside `ciphertext`. This model states the shape for contract
documents such as docs/asyncapi.json. Accepting an envelope takes more than the shape: the
strict reader is broker/envelope/codec.py, which also demands the one canonical encoding
of docs/envelope.md and checks the signature before anything else is believed.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.header import EnvelopeHeader

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024
"""Whole envelope, checked before parsing so a hostile peer cannot make us parse gigabytes."""

# 64 signature bytes are 86 unpadded base64url characters; the last one carries 2 bits and
# 4 zero bits, so it is one of A, Q, g, w (docs/envelope.md: one text form per byte string).
SIGNATURE_PATTERN = r"^[A-Za-z0-9_-]{85}[AQgw]$"
BASE64URL_PATTERN = r"^[A-Za-z0-9_-]+$"

Ciphertext = Annotated[
    str, StringConstraints(pattern=BASE64URL_PATTERN, min_length=1, max_length=MAX_ENVELOPE_BYTES)
]
Signature = Annotated[str, StringConstraints(pattern=SIGNATURE_PATTERN, max_length=86)]


class SealedEnvelope(BaseModel):
    """One Caselink message on the wire, in canonical JSON (docs/envelope.md section 4).

    `header` is signed but not encrypted: ids, categories and times only, readable by
    RabbitMQ routing and the tracker. `ciphertext` is the HPKE-sealed, padded body, readable
    by the recipient alone. `signature` is the sender's Ed25519 signature over header and
    ciphertext. All byte strings are unpadded base64url; the whole envelope is at most
    16 MiB.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    ciphertext: Ciphertext
    header: EnvelopeHeader
    signature: Signature
