"""The agency directory: who takes part, and their public keys.

The directory travels signed by the federation root key (see broker.envelope.directory);
these models are the unsigned content. Public keys are raw bytes in unpadded base64url.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.header import UnixSeconds
from schemas.ids import AgencyId, KeyId
from schemas.kinds import AgencyKind, KeyAlgorithm, KeyStatus, KeyUse

# ML-KEM-768 (1,184 bytes) + X25519 (32 bytes), base64url without padding.
PUBLIC_KEY_B64_MAX = 1632
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class PublicKey(BaseModel):
    """One public key of an agency. `kid` is the hex SHA-256 of the raw public key bytes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: KeyId
    use: KeyUse
    alg: KeyAlgorithm
    public: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$", max_length=PUBLIC_KEY_B64_MAX)]
    not_before: UnixSeconds
    not_after: UnixSeconds
    status: KeyStatus = KeyStatus.ACTIVE
    revoked_at: UnixSeconds | None = None

    @model_validator(mode="after")
    def _coherent(self) -> "PublicKey":
        if self.not_after <= self.not_before:
            raise ValueError("not_after must be after not_before")
        if (self.use is KeyUse.SIG) != (self.alg is KeyAlgorithm.ED25519):
            raise ValueError("sig keys are Ed25519 and enc keys are HPKE KEM keys")
        if (self.status is KeyStatus.REVOKED) != (self.revoked_at is not None):
            raise ValueError("revoked_at is set exactly when status is revoked")
        return self


class Agency(BaseModel):
    """A participating agency: its slug, kind, display name, region and keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: AgencyId
    kind: AgencyKind
    name: ShortText
    region: ShortText = "unspecified"
    keys: Annotated[list[PublicKey], Field(min_length=1, max_length=16)]


class Directory(BaseModel):
    """Every agency of a federation; `serial` grows with each re-signing (revocation)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    federation: ShortText = "caselink"
    serial: Annotated[int, Field(ge=1)]
    issued_at: UnixSeconds
    root_kid: KeyId
    agencies: Annotated[list[Agency], Field(max_length=10_000)]

    @model_validator(mode="after")
    def _unique(self) -> "Directory":
        ids = [a.id for a in self.agencies]
        if len(ids) != len(set(ids)):
            raise ValueError("agency ids must be unique")
        kids = [k.kid for a in self.agencies for k in a.keys]
        if len(kids) != len(set(kids)):
            raise ValueError("key ids must be unique across the directory")
        return self
