"""The federation root key: it signs the agency directory and nothing else.

The broker operators never hold it; every reader pins the root public key (a small JSON
file, distributed out of band) and checks the directory against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519
from pydantic import BaseModel, ConfigDict, Field

from broker.envelope.encoding import b64d, b64e, canonical_json
from broker.envelope.errors import KeyFileError
from broker.envelope.keys import kid_of, load_ed25519_public, parse_key_document
from schemas.header import UnixSeconds
from schemas.ids import KeyId
from schemas.kinds import KeyAlgorithm

ROOT_KEY_FORMAT = "caselink/root-key/v1"
ROOT_PUBLIC_FORMAT = "caselink/root-public-key/v1"
_B64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=64)]


class _RootKeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["caselink/root-key/v1"]
    alg: Literal[KeyAlgorithm.ED25519]
    kid: KeyId
    private: _B64
    created_at: UnixSeconds


class _RootPublicFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["caselink/root-public-key/v1"]
    alg: Literal[KeyAlgorithm.ED25519]
    kid: KeyId
    public: _B64


def _decode(text: str, what: str) -> bytes:
    try:
        return b64d(text)
    except ValueError:
        raise KeyFileError(f"{what} is not canonical base64url") from None


@dataclass(frozen=True, slots=True)
class RootPublicKey:
    """The pinned root public key; `kid` is the hex SHA-256 of its 32 raw bytes."""

    kid: str
    public_raw: bytes
    _key: ed25519.Ed25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_raw(cls, public_raw: bytes) -> RootPublicKey:
        """From 32 raw Ed25519 bytes; raises KeyFileError on a bad key."""
        try:
            key = load_ed25519_public(public_raw)
        except ValueError:
            raise KeyFileError("root public key is not a valid Ed25519 key") from None
        return cls(kid_of(public_raw), public_raw, key)

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when `signature` is this root's Ed25519 signature over `data`."""
        try:
            self._key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def to_bytes(self) -> bytes:
        """The public key file (canonical JSON): safe to publish."""
        return canonical_json(
            {
                "format": ROOT_PUBLIC_FORMAT,
                "alg": KeyAlgorithm.ED25519.value,
                "kid": self.kid,
                "public": b64e(self.public_raw),
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> RootPublicKey:
        """Load a root public key file; raises KeyFileError, including on a kid mismatch."""
        doc: _RootPublicFile = parse_key_document(raw, _RootPublicFile)
        key = cls.from_raw(_decode(doc.public, "public"))
        if key.kid != doc.kid:
            raise KeyFileError("root public key does not match its kid")
        return key


@dataclass(frozen=True, slots=True)
class RootKey:
    """The federation root's private key (Ed25519). Offline in production."""

    kid: str
    created_at: int
    _private: ed25519.Ed25519PrivateKey = field(repr=False, compare=False)

    @classmethod
    def generate(cls, *, now: int) -> RootKey:
        """A fresh root key, recording its creation time."""
        private = ed25519.Ed25519PrivateKey.generate()
        return cls(kid_of(private.public_key().public_bytes_raw()), now, private)

    def public(self) -> RootPublicKey:
        """The public half, to pin in every gateway and tracker."""
        return RootPublicKey.from_raw(self._private.public_key().public_bytes_raw())

    def sign(self, data: bytes) -> bytes:
        """Ed25519 signature over `data` (callers add their own domain label)."""
        return self._private.sign(data)

    def to_bytes(self) -> bytes:
        """The private root key file (canonical JSON). Secret: keep offline."""
        return canonical_json(
            {
                "format": ROOT_KEY_FORMAT,
                "alg": KeyAlgorithm.ED25519.value,
                "kid": self.kid,
                "private": b64e(self._private.private_bytes_raw()),
                "created_at": self.created_at,
            }
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> RootKey:
        """Load a root key file; raises KeyFileError, including on a kid mismatch."""
        doc: _RootKeyFile = parse_key_document(raw, _RootKeyFile)
        try:
            private = ed25519.Ed25519PrivateKey.from_private_bytes(_decode(doc.private, "private"))
        except ValueError:
            raise KeyFileError("root private key is not 32 bytes") from None
        key = cls(kid_of(private.public_key().public_bytes_raw()), doc.created_at, private)
        if key.kid != doc.kid:
            raise KeyFileError("root private key does not match its kid")
        return key
