"""The strict envelope decoder and the canonical envelope encoder.

A signature over bytes only helps if every reader sees the same bytes as the same content:
so there is exactly one accepted encoding of each envelope, and anything else is refused
before any cryptography runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from broker.envelope.encoding import (
    JsonDuplicateKeyError,
    JsonRejectedError,
    b64d,
    b64d_quoted,
    b64e_bytes,
    error_locations,
    loads_strict,
)
from broker.envelope.errors import (
    DuplicateKey,
    EnvelopeError,
    EnvelopeTooLarge,
    MalformedEnvelope,
    NonCanonicalEncoding,
    UnsupportedSuite,
    UnsupportedVersion,
)
from broker.envelope.header_json import header_bytes, validated_header_bytes
from broker.envelope.suites import MAX_ENVELOPE_BYTES, SIGNATURE_LEN, SUITES
from schemas.header import ENVELOPE_VERSION, EnvelopeHeader

ENVELOPE_KEYS = frozenset({"ciphertext", "header", "signature"})
# The canonical envelope is these four constants around ciphertext, header and signature.
_PREFIX = b'{"ciphertext":"'
_MIDDLE = b'","header":'
_SIGNATURE = b',"signature":"'
_SUFFIX = b'"}'

__all__ = ["DecodedEnvelope", "decode_envelope", "encode_envelope", "header_bytes"]


def encode_envelope(header_json: bytes, ciphertext: bytes, signature: bytes) -> bytes:
    """The canonical envelope; same bytes as canonical_json of the three-key object."""
    return b"".join(
        (
            _PREFIX,
            b64e_bytes(ciphertext),
            _MIDDLE,
            header_json,
            _SIGNATURE,
            b64e_bytes(signature),
            _SUFFIX,
        )
    )


@dataclass(frozen=True, slots=True)
class DecodedEnvelope:
    """A structurally valid, canonical envelope; nothing about it is trusted yet."""

    header: EnvelopeHeader
    header_json: bytes
    ciphertext: bytes
    signature: bytes


def _field(doc: dict[str, Any], key: str) -> tuple[str, bytes]:
    text = doc[key]
    if not isinstance(text, str):
        raise MalformedEnvelope(f"{key} must be a base64url string")
    try:
        return text, b64d(text)
    except ValueError as exc:
        raise NonCanonicalEncoding(f"{key} is not canonical unpadded base64url") from exc


def _check_version_and_suite(obj: dict[str, Any]) -> None:
    v = obj.get("v")
    # type() rather than isinstance: true and 1.0 compare equal to 1 but are other encodings.
    if type(v) is not int and v == ENVELOPE_VERSION:
        raise NonCanonicalEncoding("header.v is not written as an integer")
    if type(v) is not int or v != ENVELOPE_VERSION:
        raise UnsupportedVersion("header.v is not a supported format version")
    suite = obj.get("suite")
    if not isinstance(suite, str) or suite not in SUITES:
        raise UnsupportedSuite("header.suite is not a supported HPKE suite")


def _decode_canonical(raw: bytes) -> DecodedEnvelope | None:
    """The decoded envelope when raw is a valid, canonical envelope; None on any doubt.

    The fast path for the usual case: base64 texts hold no quote, so the skeleton splits
    unambiguously, and only the small header goes through a (pydantic) JSON parser. The
    header bytes must then equal the canonical encoding of the validated header, which
    rules out duplicate keys, other number forms, escapes and whitespace: success here
    means the strict path would succeed with the same result.
    """
    if not raw.startswith(_PREFIX) or not raw.endswith(_SUFFIX):
        return None
    end_ct = raw.find(b'"', len(_PREFIX))
    start_header = end_ct + len(_MIDDLE)
    start_sig = raw.rfind(_SIGNATURE)
    if end_ct < 0 or not raw.startswith(_MIDDLE, end_ct) or start_sig < start_header:
        return None
    header_raw = raw[start_header:start_sig]
    try:
        # model_validate_json minus its Python wrapper (0.3 us): same validator, same result.
        header: EnvelopeHeader = EnvelopeHeader.__pydantic_validator__.validate_json(header_raw)
        # Any text other than the canonical one can only fail this comparison, and send
        # the envelope down the strict path: the validated-header shortcut is safe here.
        if validated_header_bytes(header) != header_raw:
            return None
        # The texts are decoded with their quotes, straight from the raw bytes (no str).
        signature = b64d_quoted(raw[start_sig + len(_SIGNATURE) - 1 : -len(_SUFFIX) + 1])
        ciphertext = b64d_quoted(raw[len(_PREFIX) - 1 : end_ct + 1])
    except (ValidationError, ValueError):
        return None
    if len(signature) != SIGNATURE_LEN or not SUITES[header.suite].ciphertext_len_ok(
        len(ciphertext)
    ):
        return None
    return DecodedEnvelope(header, header_raw, ciphertext, signature)


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        doc = loads_strict(raw)
    except JsonDuplicateKeyError as exc:
        raise DuplicateKey("a JSON object repeats a key") from exc
    except JsonRejectedError as exc:
        raise MalformedEnvelope("not an ASCII JSON document") from exc
    if not isinstance(doc, dict) or doc.keys() != ENVELOPE_KEYS:
        raise MalformedEnvelope("top level must be exactly ciphertext, header, signature")
    return doc


def decode_envelope(raw: bytes) -> DecodedEnvelope:
    """Parse and check the shape of an envelope, without any cryptography.

    Raises EnvelopeTooLarge, MalformedEnvelope (DuplicateKey, NonCanonicalEncoding),
    UnsupportedVersion, UnsupportedSuite.
    """
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise EnvelopeTooLarge(f"envelope exceeds {MAX_ENVELOPE_BYTES} bytes")
    decoded = _decode_canonical(raw)
    if decoded is not None:
        return decoded
    # The strict path: slower, and it names the first thing that is wrong.
    return _check(_parse(raw), raw)


def _check(doc: dict[str, Any], raw: bytes) -> DecodedEnvelope:
    obj = doc["header"]
    if not isinstance(obj, dict):
        raise MalformedEnvelope("header must be an object")
    _check_version_and_suite(obj)
    try:
        header = EnvelopeHeader.model_validate(obj)
    except ValidationError as exc:
        locations = error_locations(exc, EnvelopeHeader)
        # The header holds only ids and categories, so chaining pydantic's message is safe.
        raise MalformedEnvelope(f"header invalid at {locations}") from exc
    try:
        signature_text, signature = _field(doc, "signature")
        if len(signature) != SIGNATURE_LEN:
            raise MalformedEnvelope(f"signature must be {SIGNATURE_LEN} bytes")
        ciphertext_text, ciphertext = _field(doc, "ciphertext")
        if not SUITES[header.suite].ciphertext_len_ok(len(ciphertext)):
            raise MalformedEnvelope("ciphertext length is not enc + padded bucket + tag")
        header_json = header_bytes(header)
        # b64d accepted only canonical text, so the texts stand in for re-encoding.
        expected = b"".join(
            (
                _PREFIX,
                ciphertext_text.encode("ascii"),
                _MIDDLE,
                header_json,
                _SIGNATURE,
                signature_text.encode("ascii"),
                _SUFFIX,
            )
        )
        if expected != raw:
            raise NonCanonicalEncoding("envelope is not in canonical JSON form")
    except EnvelopeError as err:
        err.attach(message_id=header.message_id, sender=header.sender, recipient=header.recipient)
        raise
    return DecodedEnvelope(header, header_json, ciphertext, signature)
