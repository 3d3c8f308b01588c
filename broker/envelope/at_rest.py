"""Seal a record to the agency's own key, to keep at rest: a body no column may hold open.

Pure: bytes and keys in, bytes or a typed EnvelopeError out. For what an agency keeps about
itself (its consent register), not for messages: there is no sender, no signature and no
header, because nobody else ever reads it. The record's id and kind are bound into the HPKE
info, so a sealed body moved to another row, or read as another kind, does not open.

Format: b"caselink-record/v1" || kid (32 bytes, the key's raw id) || HPKE enc || AEAD(padded
body JSON), with the suite the kid names (the key file's, never chosen by the stored bytes).
"""

from typing import TypeVar

from cryptography.exceptions import InvalidTag
from pydantic import BaseModel, ValidationError

from broker.envelope.encoding import error_locations
from broker.envelope.errors import BodySchemaError, DecryptionFailed, MalformedEnvelope, UnknownKey
from broker.envelope.keys import AgencyKeys, load_hpke_public
from broker.envelope.suites import SUITES, pad, unpad
from schemas.kinds import Suite

MAGIC = b"caselink-record/v1"
_KID_LEN = 32
_INFO_LABEL = b"caselink/record/v1\x00"

ModelT = TypeVar("ModelT", bound=BaseModel)


def _info(kind: str, record_id: str) -> bytes:
    return b"".join((_INFO_LABEL, kind.encode("ascii"), b"\x00", record_id.encode("ascii")))


def seal_record(
    body: BaseModel,
    *,
    kind: str,
    record_id: str,
    keys: AgencyKeys,
    suite: Suite = Suite.MLKEM768_X25519,
) -> bytes:
    """`body` encrypted to this agency's own `suite` key, bound to `kind` and `record_id`.

    Raises UnknownKey when the key file holds no key of `suite`, EnvelopeTooLarge past the
    largest padding bucket.
    """
    key = keys.encryption.get(suite)
    if key is None:
        raise UnknownKey(f"no own {suite.value} key to seal a record with")
    spec = SUITES[suite]
    public = load_hpke_public(spec.alg, key.public_raw)
    body_json = body.__pydantic_serializer__.to_json(body)
    ciphertext = spec.hpke.encrypt(pad(body_json), public, info=_info(kind, record_id))
    return b"".join((MAGIC, bytes.fromhex(key.kid), ciphertext))


def open_record(
    sealed: bytes, model: type[ModelT], *, kind: str, record_id: str, keys: AgencyKeys
) -> ModelT:
    """The body `seal_record` sealed for `kind` and `record_id`; never log it.

    Raises MalformedEnvelope (not a sealed record, bad padding), UnknownKey (not one of our
    keys: the key file lost it), DecryptionFailed (altered, or another row's or kind's),
    BodySchemaError (the plaintext is not a valid `model`).
    """
    head = len(MAGIC) + _KID_LEN
    if len(sealed) <= head or not sealed.startswith(MAGIC):
        raise MalformedEnvelope("not a sealed record")
    key = keys.decryption_key(sealed[len(MAGIC) : head].hex())
    if key is None:
        raise UnknownKey("the record is sealed to a key this agency no longer holds")
    try:
        padded = SUITES[key.suite].hpke.decrypt(
            sealed[head:], key.private, info=_info(kind, record_id)
        )
    except (InvalidTag, ValueError):
        raise DecryptionFailed("the sealed record does not open") from None
    try:
        return model.model_validate_json(unpad(padded))
    except ValidationError as exc:
        # from None: the cause would carry personal data into tracebacks and logs.
        raise BodySchemaError(f"record invalid at {error_locations(exc, model)}") from None
