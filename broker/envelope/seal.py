"""Seal: sign and encrypt one body for one recipient agency.

One envelope per recipient: each is encrypted to that recipient's key alone, so a copy
sent to the police cannot be opened by the school, and the header names one recipient
that the tracker can hold to a deadline.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ValidationError

from broker.envelope.binding import commitment, hpke_info, signed_input
from broker.envelope.codec import encode_envelope
from broker.envelope.encoding import error_locations
from broker.envelope.errors import (
    BodySchemaError,
    EnvelopeError,
    EnvelopeTooLarge,
    MalformedEnvelope,
    OutsideValidityWindow,
    UnknownRecipient,
)
from broker.envelope.header_json import validated_header_bytes
from broker.envelope.keys import AgencyKeys
from broker.envelope.suites import DEFAULT_TTL_S, MAX_BODY_BYTES, MAX_TTL_S, SALT_LEN, SUITES, pad
from broker.envelope.trusted import TrustedDirectory
from schemas.bodies import header_basis, header_in_reply_to, header_status, header_urgency
from schemas.header import EnvelopeHeader
from schemas.ids import AgencyId, MessageId, ThreadId, new_message_id
from schemas.kinds import LawfulBasis, MessageKind, Suite, Urgency


def seal(
    body: BaseModel,
    *,
    kind: MessageKind,
    sender: AgencyKeys,
    recipient: AgencyId,
    directory: TrustedDirectory,
    now: int,
    thread_id: ThreadId,
    message_id: MessageId | None = None,
    respond_by: int | None = None,
    suite: Suite = Suite.MLKEM768_X25519,
    ttl_s: int = DEFAULT_TTL_S,
) -> bytes:
    """Seal `body` (the model of `kind`) from `sender` to `recipient`; returns the envelope.

    The header's urgency, status, in_reply_to and basis are taken from the body. Raises
    BodySchemaError (body is not the model of `kind`), UnknownSender, UnknownKey,
    KeyRevoked, KeyExpired (our signing key per the directory), UnknownRecipient,
    EnvelopeTooLarge, OutsideValidityWindow (ttl_s), MalformedEnvelope (header fields).
    """
    try:
        status = header_status(kind, body)
        urgency = header_urgency(kind, body)
        in_reply_to = header_in_reply_to(kind, body)
        basis = header_basis(kind, body)
    except (TypeError, KeyError):
        error = BodySchemaError(f"body is not a {kind.value} body")
        error.attach(message_id=message_id, sender=sender.agency_id, recipient=recipient)
        raise error from None
    return seal_json(
        # The bytes of body.model_dump_json().encode(), without the str round trip (0.7 us).
        body.__pydantic_serializer__.to_json(body),
        kind=kind,
        sender=sender,
        recipient=recipient,
        directory=directory,
        now=now,
        thread_id=thread_id,
        message_id=message_id,
        respond_by=respond_by,
        suite=suite,
        ttl_s=ttl_s,
        urgency=urgency,
        status=status,
        in_reply_to=in_reply_to,
        basis=basis,
    )


def seal_json(
    body_json: bytes,
    *,
    kind: MessageKind,
    sender: AgencyKeys,
    recipient: AgencyId,
    directory: TrustedDirectory,
    now: int,
    thread_id: ThreadId,
    message_id: MessageId | None = None,
    respond_by: int | None = None,
    suite: Suite = Suite.MLKEM768_X25519,
    ttl_s: int = DEFAULT_TTL_S,
    urgency: Urgency | None = None,
    status: str | None = None,
    in_reply_to: MessageId | None = None,
    basis: LawfulBasis | None = None,
) -> bytes:
    """Lower level than seal: seals body JSON bytes as given, WITHOUT validating them.

    For test vectors and tests of the recipient's checks; applications call seal().
    Raises the same errors as seal() except BodySchemaError.
    """
    message_id = message_id or new_message_id()
    try:
        if len(body_json) > MAX_BODY_BYTES:
            raise EnvelopeTooLarge(f"body exceeds {MAX_BODY_BYTES} bytes")
        if not 0 < ttl_s <= MAX_TTL_S:
            raise OutsideValidityWindow(f"ttl_s must be in (0, {MAX_TTL_S}]")
        # Our own key as a recipient will check it: in the directory, ours, valid now.
        directory.signing_key(sender.agency_id, sender.signing.kid, now)
        spec = SUITES[suite]
        target = directory.active_enc_key(recipient, spec.alg, now)
        if target is None or target.enc_public is None:
            # Only now ask why (an agency missing from the directory has no keys either).
            if directory.agency(recipient) is None:
                raise UnknownRecipient("recipient agency is not in the directory")
            raise UnknownRecipient(f"recipient has no active {suite.value} key")
        salt = os.urandom(SALT_LEN)
        try:
            # EnvelopeHeader(**fields) minus BaseModel.__init__'s wrapper (0.7 us): the same
            # validator with the same input, so the same checks and the same header.
            header: EnvelopeHeader = EnvelopeHeader.__pydantic_validator__.validate_python(
                {
                    "suite": suite,
                    "message_id": message_id,
                    "thread_id": thread_id,
                    "kind": kind,
                    "sender": sender.agency_id,
                    "recipient": recipient,
                    "sender_kid": sender.signing.kid,
                    "recipient_kid": target.key.kid,
                    "issued_at": now,
                    "expires_at": now + ttl_s,
                    "urgency": urgency,
                    "respond_by": respond_by,
                    "in_reply_to": in_reply_to,
                    "status": status,
                    "basis": basis,
                    "commitment": commitment(salt, body_json),
                }
            )
        except ValidationError as exc:
            locations = error_locations(exc, EnvelopeHeader)
            raise MalformedEnvelope(f"header invalid at {locations}") from exc
        header_json = validated_header_bytes(header)
        ciphertext = spec.hpke.encrypt(
            pad(salt, body_json), target.enc_public, info=hpke_info(header_json)
        )
        signature = sender.signing.private.sign(signed_input(header_json, ciphertext))
    except EnvelopeError as err:
        err.attach(message_id=message_id, sender=sender.agency_id, recipient=recipient)
        raise
    return encode_envelope(header_json, ciphertext, signature)
