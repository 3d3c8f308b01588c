"""An agency's private keys: one Ed25519 signing key and one HPKE key per suite.

Key ids are the hex SHA-256 of the raw public key, so anyone can recompute them. Key files
are JSON; loading one re-derives every public key and checks it against the stored kid,
so a damaged or mixed-up file is refused instead of producing undecryptable traffic.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from broker.envelope.encoding import b64d, b64e, canonical_json, error_locations, loads_strict
from broker.envelope.errors import KeyFileError
from broker.envelope.suites import SUITE_BY_ALG, SUITES
from schemas.directory import Agency, PublicKey
from schemas.header import UnixSeconds
from schemas.ids import AGENCY_ID_PATTERN, AgencyId, KeyId
from schemas.kinds import AgencyKind, KeyAlgorithm, KeyStatus, KeyUse, Suite

KEY_FILE_FORMAT = "caselink/agency-keys/v1"
DEFAULT_LIFETIME_S = 2 * 365 * 86400
MLKEM768_SEED_LEN = 64
MLKEM768_PUBLIC_LEN = 1184
X25519_LEN = 32
ED25519_LEN = 32

HpkePrivate = x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey
HpkePublic = x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey


def kid_of(public_raw: bytes) -> str:
    """Key id: lowercase hex SHA-256 of the raw public key bytes."""
    return hashlib.sha256(public_raw).hexdigest()


def load_hpke_public(alg: KeyAlgorithm, raw: bytes) -> HpkePublic:
    """HPKE public key object from its raw bytes (hybrid: ML-KEM-768 || X25519).

    Raises ValueError on a wrong length or an invalid key.
    """
    if alg is KeyAlgorithm.X25519 and len(raw) == X25519_LEN:
        return x25519.X25519PublicKey.from_public_bytes(raw)
    if alg is KeyAlgorithm.MLKEM768_X25519 and len(raw) == MLKEM768_PUBLIC_LEN + X25519_LEN:
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM768_PUBLIC_LEN]),
            x25519.X25519PublicKey.from_public_bytes(raw[MLKEM768_PUBLIC_LEN:]),
        )
    raise ValueError("public key length does not match its algorithm")


def load_ed25519_public(raw: bytes) -> ed25519.Ed25519PublicKey:
    """Ed25519 public key object from 32 raw bytes; raises ValueError otherwise."""
    if len(raw) != ED25519_LEN:
        raise ValueError("Ed25519 public keys are 32 bytes")
    return ed25519.Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The agency's Ed25519 key; `private_raw` is the 32-byte seed."""

    kid: str
    public_raw: bytes = field(repr=False)
    not_before: int
    not_after: int
    private: ed25519.Ed25519PrivateKey = field(repr=False)
    private_raw: bytes = field(repr=False)

    @classmethod
    def from_private_raw(cls, raw: bytes, not_before: int, not_after: int) -> SigningKey:
        """Rebuild from the 32-byte seed; raises ValueError on a bad length."""
        private = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
        public_raw = private.public_key().public_bytes_raw()
        return cls(kid_of(public_raw), public_raw, not_before, not_after, private, raw)


@dataclass(frozen=True, slots=True)
class EncryptionKey:
    """One HPKE private key; hybrid `private_raw` is ML-KEM seed (64) || X25519 private (32)."""

    suite: Suite
    kid: str
    public_raw: bytes = field(repr=False)
    not_before: int
    not_after: int
    private: HpkePrivate = field(repr=False)
    private_raw: bytes = field(repr=False)

    @classmethod
    def from_private_raw(
        cls, suite: Suite, raw: bytes, not_before: int, not_after: int
    ) -> EncryptionKey:
        """Rebuild from stored private bytes; raises ValueError on a bad length or key."""
        private: HpkePrivate
        if suite is Suite.X25519 and len(raw) == X25519_LEN:
            private = x25519.X25519PrivateKey.from_private_bytes(raw)
            public_raw = private.public_key().public_bytes_raw()
        elif suite is Suite.MLKEM768_X25519 and len(raw) == MLKEM768_SEED_LEN + X25519_LEN:
            kem = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:MLKEM768_SEED_LEN])
            dh = x25519.X25519PrivateKey.from_private_bytes(raw[MLKEM768_SEED_LEN:])
            private = hpke.MLKEM768X25519PrivateKey(kem, dh)
            public_raw = kem.public_key().public_bytes_raw() + dh.public_key().public_bytes_raw()
        else:
            raise ValueError("private key length does not match its suite")
        return cls(suite, kid_of(public_raw), public_raw, not_before, not_after, private, raw)

    @classmethod
    def generate(cls, suite: Suite, not_before: int, not_after: int) -> EncryptionKey:
        """A fresh key pair for `suite`."""
        if suite is Suite.X25519:
            raw = x25519.X25519PrivateKey.generate().private_bytes_raw()
        else:
            raw = (
                mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
                + x25519.X25519PrivateKey.generate().private_bytes_raw()
            )
        return cls.from_private_raw(suite, raw, not_before, not_after)


class _PrivateEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: KeyId
    use: KeyUse
    alg: KeyAlgorithm
    private: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=200)]
    not_before: UnixSeconds
    not_after: UnixSeconds


class _KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["caselink/agency-keys/v1"]
    agency_id: AgencyId
    keys: Annotated[list[_PrivateEntry], Field(min_length=2, max_length=len(SUITES) + 1)]


def parse_key_document(raw: bytes, model: type[BaseModel]) -> Any:
    """Strictly parse and validate a key file; errors never echo key material.

    Raises KeyFileError.
    """
    try:
        return model.model_validate(loads_strict(raw))
    except ValidationError as exc:
        # from None: pydantic's own message would repeat the private key bytes.
        raise KeyFileError(f"invalid at {error_locations(exc, model)}") from None
    except ValueError:
        raise KeyFileError("not an ASCII JSON document without duplicate keys") from None


def _load_entry(entry: _PrivateEntry) -> SigningKey | EncryptionKey:
    if entry.not_after <= entry.not_before:
        raise KeyFileError(f"key {entry.kid} has an empty validity window")
    key: SigningKey | EncryptionKey
    try:
        secret = b64d(entry.private)
        if entry.use is KeyUse.SIG and entry.alg is KeyAlgorithm.ED25519:
            key = SigningKey.from_private_raw(secret, entry.not_before, entry.not_after)
        elif entry.use is KeyUse.ENC and entry.alg in SUITE_BY_ALG:
            suite = SUITE_BY_ALG[entry.alg].suite
            key = EncryptionKey.from_private_raw(suite, secret, entry.not_before, entry.not_after)
        else:
            raise KeyFileError(f"key {entry.kid} has a use/alg pair that is not allowed")
    except ValueError:
        raise KeyFileError(f"key {entry.kid} does not decode") from None
    # The kid is recomputed from the private key: a file whose parts were mixed up is refused.
    if key.kid != entry.kid:
        raise KeyFileError(f"key {entry.kid} does not match its private key")
    return key


@dataclass(frozen=True, slots=True)
class AgencyKeys:
    """Everything an agency holds privately. Keep it out of logs: repr shows key ids only."""

    agency_id: str
    signing: SigningKey
    encryption: dict[Suite, EncryptionKey]
    _by_kid: dict[str, EncryptionKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not re.fullmatch(AGENCY_ID_PATTERN, self.agency_id):
            raise ValueError("agency_id is not a valid agency slug")
        by_kid = {key.kid: key for key in self.encryption.values()}
        object.__setattr__(self, "_by_kid", by_kid)

    @classmethod
    def generate(
        cls, agency_id: str, *, now: int, lifetime_s: int = DEFAULT_LIFETIME_S
    ) -> AgencyKeys:
        """Fresh signing and encryption keys (every suite), valid [now, now + lifetime_s)."""
        end = now + lifetime_s
        raw = ed25519.Ed25519PrivateKey.generate().private_bytes_raw()
        signing = SigningKey.from_private_raw(raw, now, end)
        encryption = {suite: EncryptionKey.generate(suite, now, end) for suite in SUITES}
        return cls(agency_id, signing, encryption)

    def __repr__(self) -> str:
        kids = [self.signing.kid, *(key.kid for key in self.encryption.values())]
        return f"AgencyKeys(agency_id={self.agency_id!r}, kids={kids})"

    def decryption_key(self, kid: str) -> EncryptionKey | None:
        """Our encryption key with id `kid`, or None."""
        return self._by_kid.get(kid)

    def public_keys(self) -> list[PublicKey]:
        """Directory entries for every key, all active."""
        sig = self.signing
        entries = [
            PublicKey(
                kid=sig.kid,
                use=KeyUse.SIG,
                alg=KeyAlgorithm.ED25519,
                public=b64e(sig.public_raw),
                not_before=sig.not_before,
                not_after=sig.not_after,
                status=KeyStatus.ACTIVE,
            )
        ]
        for key in self.encryption.values():
            entries.append(
                PublicKey(
                    kid=key.kid,
                    use=KeyUse.ENC,
                    alg=SUITES[key.suite].alg,
                    public=b64e(key.public_raw),
                    not_before=key.not_before,
                    not_after=key.not_after,
                    status=KeyStatus.ACTIVE,
                )
            )
        return entries

    def public_entry(self, kind: AgencyKind, name: str, region: str = "unspecified") -> Agency:
        """This agency as a directory entry (to be signed by the root)."""
        return Agency(
            id=self.agency_id, kind=kind, name=name, region=region, keys=self.public_keys()
        )

    def to_bytes(self) -> bytes:
        """The private key file (canonical JSON). Secret: store it with owner-only access."""
        keys = [
            {
                "kid": self.signing.kid,
                "use": KeyUse.SIG.value,
                "alg": KeyAlgorithm.ED25519.value,
                "private": b64e(self.signing.private_raw),
                "not_before": self.signing.not_before,
                "not_after": self.signing.not_after,
            }
        ]
        for key in self.encryption.values():
            keys.append(
                {
                    "kid": key.kid,
                    "use": KeyUse.ENC.value,
                    "alg": SUITES[key.suite].alg.value,
                    "private": b64e(key.private_raw),
                    "not_before": key.not_before,
                    "not_after": key.not_after,
                }
            )
        return canonical_json(
            {"format": KEY_FILE_FORMAT, "agency_id": self.agency_id, "keys": keys}
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> AgencyKeys:
        """Load a private key file written by to_bytes.

        Raises KeyFileError on any defect: bad JSON, unknown fields, wrong lengths, a kid
        that does not match its key, missing signing key, two keys for one use or suite.
        """
        doc: _KeyFile = parse_key_document(raw, _KeyFile)
        signing: SigningKey | None = None
        encryption: dict[Suite, EncryptionKey] = {}
        for entry in doc.keys:
            key = _load_entry(entry)
            if isinstance(key, SigningKey):
                if signing is not None:
                    raise KeyFileError("more than one signing key")
                signing = key
            else:
                if key.suite in encryption:
                    raise KeyFileError(f"more than one encryption key for {key.suite.value}")
                encryption[key.suite] = key
        if signing is None or not encryption:
            raise KeyFileError("a key file needs one signing key and at least one encryption key")
        return cls(doc.agency_id, signing, encryption)
