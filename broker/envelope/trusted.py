"""TrustedDirectory: a directory whose root signature has been checked, with O(1) lookups.

Only broker.envelope.directory.verify_directory creates one, so holding a TrustedDirectory
proves the check was done; seal and open accept nothing else as a directory.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ed25519

from broker.envelope.errors import KeyExpired, KeyRevoked, UnknownKey, UnknownSender
from broker.envelope.keys import HpkePublic
from schemas.directory import Agency, Directory, PublicKey
from schemas.kinds import KeyAlgorithm, KeyStatus, KeyUse

_CONSTRUCTION_TOKEN = object()


def key_valid_at(key: PublicKey, when: int) -> bool:
    """Validity windows are half-open: not_before <= when < not_after."""
    return key.not_before <= when < key.not_after


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A directory key with its owner and its ready-to-use public key object."""

    agency_id: str
    key: PublicKey
    sig_public: ed25519.Ed25519PublicKey | None
    enc_public: HpkePublic | None


class TrustedDirectory:
    """A verified directory. Create it with verify_directory, never directly."""

    __slots__ = ("_agencies", "_enc", "_keys", "directory")

    def __init__(
        self,
        directory: Directory,
        keys: dict[str, KeyEntry],
        *,
        _token: object = None,
    ) -> None:
        if _token is not _CONSTRUCTION_TOKEN:
            raise TypeError("a TrustedDirectory comes only from verify_directory()")
        self.directory = directory
        self._keys = keys
        self._agencies = {agency.id: agency for agency in directory.agencies}
        enc: dict[tuple[str, KeyAlgorithm], list[PublicKey]] = {}
        for agency in directory.agencies:
            for key in agency.keys:
                if key.use is KeyUse.ENC and key.status is KeyStatus.ACTIVE:
                    enc.setdefault((agency.id, key.alg), []).append(key)
        # Newest first, so the current key is the first one valid at `now`.
        for candidates in enc.values():
            candidates.sort(key=lambda k: k.not_before, reverse=True)
        self._enc = enc

    @property
    def serial(self) -> int:
        """The directory's serial; refuse to go back to a lower one (rollback)."""
        return self.directory.serial

    @property
    def root_kid(self) -> str:
        """Key id of the root that signed this directory."""
        return self.directory.root_kid

    def agency(self, agency_id: str) -> Agency | None:
        """The agency with this id, or None."""
        return self._agencies.get(agency_id)

    def key(self, kid: str) -> KeyEntry | None:
        """The key with this id (any agency, any status), or None."""
        return self._keys.get(kid)

    def signing_key(self, agency_id: str, kid: str, at: int) -> ed25519.Ed25519PublicKey:
        """The signing key `kid` of `agency_id`, usable for a message issued at `at`.

        The one definition of a sender's valid key, for sealing and opening alike. Raises
        UnknownSender, UnknownKey, KeyRevoked or KeyExpired.
        """
        if self.agency(agency_id) is None:
            raise UnknownSender("sender agency is not in the directory")
        entry = self.key(kid)
        if entry is None or entry.agency_id != agency_id or entry.sig_public is None:
            raise UnknownKey("sender_kid is not a signing key of the sender")
        # A revoked key is refused whatever issued_at says: a thief would simply backdate.
        if entry.key.status is KeyStatus.REVOKED:
            raise KeyRevoked("sender's signing key is revoked")
        if not key_valid_at(entry.key, at):
            raise KeyExpired("sender's signing key was not valid at issued_at")
        return entry.sig_public

    def active_enc_key(self, agency_id: str, alg: KeyAlgorithm, now: int) -> KeyEntry | None:
        """The agency's newest active encryption key of `alg` valid at `now`, or None."""
        for key in self._enc.get((agency_id, alg), ()):
            if key_valid_at(key, now):
                return self._keys[key.kid]
        return None

    def __repr__(self) -> str:
        count = len(self._agencies)
        return f"TrustedDirectory(serial={self.serial}, root_kid={self.root_kid}, agencies={count})"
