"""Typed refusals of the envelope layer: one class per reason, each one line and content-free.

Every error keeps the evidence of what arrived (hex SHA-256 of the raw bytes) and the ids
that were known when it was raised, so that the dead-letter queue and the audit log can say
what was refused and why without ever holding a decrypted body.
"""

from __future__ import annotations

import hashlib
from typing import Any

from broker.errors import CaselinkError


def evidence_of(raw: bytes) -> str:
    """Hex SHA-256 of raw input: identifies what arrived without repeating it."""
    return hashlib.sha256(raw).hexdigest()


class EnvelopeError(CaselinkError):
    """Base of every refusal by seal, open_envelope and verify_header.

    `detail` is a fixed text written by this package (never input values); the ids are
    filled in by the caller as soon as the header is known.
    """

    reason = "envelope_error"

    def __init__(
        self,
        detail: str = "",
        *,
        message_id: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        evidence: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.message_id = message_id
        self.sender = sender
        self.recipient = recipient
        self.evidence = evidence

    def attach(
        self,
        *,
        message_id: str | None = None,
        sender: str | None = None,
        recipient: str | None = None,
        evidence: str | None = None,
    ) -> None:
        """Fill in ids and evidence that were not known where the error was raised."""
        self.message_id = self.message_id or message_id
        self.sender = self.sender or sender
        self.recipient = self.recipient or recipient
        self.evidence = self.evidence or evidence

    def __str__(self) -> str:
        # One line, reason first; the ids are validated slugs/uuids, the detail is our text.
        parts = [f"{self.reason}: {self.detail}" if self.detail else self.reason]
        for name in ("message_id", "sender", "recipient", "evidence"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        return " ".join(parts).replace("\n", " ")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would otherwise be lost when a worker pickles the error.
        return (_rebuild, (type(self), self.detail, dict(self.__dict__)))


def _rebuild(cls: type[EnvelopeError], detail: str, state: dict[str, Any]) -> EnvelopeError:
    error = cls(detail)
    error.__dict__.update(state)
    return error


class MalformedEnvelope(EnvelopeError):
    """The bytes are not a well-formed envelope (JSON, keys, base64, lengths, header fields)."""

    reason = "malformed_envelope"


class NonCanonicalEncoding(MalformedEnvelope):
    """Well-formed, but not byte-for-byte the canonical encoding of its own content."""

    reason = "non_canonical_encoding"


class DuplicateKey(MalformedEnvelope):
    """A JSON object repeats a key (parsers disagree on which one wins)."""

    reason = "duplicate_key"


class UnsupportedVersion(EnvelopeError):
    """The header's format version `v` is not one this implementation speaks."""

    reason = "unsupported_version"


class UnsupportedSuite(EnvelopeError):
    """The header names an HPKE suite this implementation does not accept."""

    reason = "unsupported_suite"


class EnvelopeTooLarge(EnvelopeError):
    """The envelope (or the body to seal) exceeds the size limit."""

    reason = "envelope_too_large"


class UnknownSender(EnvelopeError):
    """The sender agency is not in the trusted directory."""

    reason = "unknown_sender"


class UnknownRecipient(EnvelopeError):
    """Seal only: the recipient agency is not in the directory or has no usable key."""

    reason = "unknown_recipient"


class UnknownKey(EnvelopeError):
    """A key id is unknown, belongs to another agency, or has the wrong use or suite."""

    reason = "unknown_key"


class KeyRevoked(EnvelopeError):
    """The sender's signing key is revoked in the directory."""

    reason = "key_revoked"


class KeyExpired(EnvelopeError):
    """The sender's signing key was not valid at the envelope's issued_at."""

    reason = "key_expired"


class BadSignature(EnvelopeError):
    """The Ed25519 signature over header and ciphertext does not verify."""

    reason = "bad_signature"


class NotForRecipient(EnvelopeError):
    """The envelope is addressed to another agency."""

    reason = "not_for_recipient"


class OutsideValidityWindow(EnvelopeError):
    """The envelope's issued_at/expires_at window does not contain now (or is too long)."""

    reason = "outside_validity_window"


class IssuedInFuture(OutsideValidityWindow):
    """issued_at is later than now plus the allowed clock skew."""

    reason = "issued_in_future"


class MessageExpired(OutsideValidityWindow):
    """now is later than expires_at plus the allowed clock skew."""

    reason = "message_expired"


class DecryptionFailed(EnvelopeError):
    """HPKE decryption failed: wrong key, altered ciphertext or altered header."""

    reason = "decryption_failed"


class CommitmentMismatch(EnvelopeError):
    """The decrypted plaintext does not match the commitment in the signed header."""

    reason = "commitment_mismatch"


class BodySchemaError(EnvelopeError):
    """The decrypted body is not valid JSON for its kind's schema (locations only)."""

    reason = "body_schema_error"


class HeaderBodyMismatch(BodySchemaError):
    """The clear header's urgency/status/in_reply_to disagree with the body."""

    reason = "header_body_mismatch"


class DirectoryError(CaselinkError):
    """The signed directory document is refused or cannot be changed as asked."""

    reason = "directory_error"

    def __init__(self, detail: str = "", *, evidence: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.evidence = evidence

    def __str__(self) -> str:
        text = f"{self.reason}: {self.detail}" if self.detail else self.reason
        return f"{text} evidence={self.evidence}" if self.evidence else text

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.detail,), dict(self.__dict__))


class DirectoryMalformed(DirectoryError):
    """Not a well-formed, canonical, size-bounded signed directory document."""

    reason = "directory_malformed"


class DirectorySignatureInvalid(DirectoryError):
    """The root signature over the directory does not verify."""

    reason = "directory_bad_signature"


class DirectoryWrongRoot(DirectoryError):
    """The directory names a root key other than the pinned one."""

    reason = "directory_wrong_root"


class DirectoryKeyInvalid(DirectoryError):
    """A public key in the directory does not decode or does not match its kid."""

    reason = "directory_key_invalid"


class DirectoryRollback(DirectoryError):
    """The directory's serial is lower than one the reader has already accepted."""

    reason = "directory_rollback"


class DirectoryUnknownKey(DirectoryError):
    """A key id asked for (for instance to revoke it) is not in the directory."""

    reason = "directory_unknown_key"


class KeyFileError(CaselinkError):
    """A private or public key file is refused; the message never repeats key material."""

    reason = "key_file_error"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason
