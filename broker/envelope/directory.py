"""The root-signed agency directory: build, verify, revoke.

Document: canonical JSON {"directory": {...}, "signature": B64} where the signature is the
root's Ed25519 over b"caselink/directory/v1\\x00" || canonical directory bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from broker.envelope.encoding import (
    JsonDuplicateKeyError,
    b64d,
    b64e,
    canonical_json,
    error_locations,
    loads_strict,
)
from broker.envelope.errors import (
    DirectoryError,
    DirectoryKeyInvalid,
    DirectoryMalformed,
    DirectoryRollback,
    DirectorySignatureInvalid,
    DirectoryUnknownKey,
    DirectoryWrongRoot,
    evidence_of,
)
from broker.envelope.keys import kid_of, load_ed25519_public, load_hpke_public
from broker.envelope.root import RootKey, RootPublicKey
from broker.envelope.suites import SIGNATURE_LEN
from broker.envelope.trusted import _CONSTRUCTION_TOKEN, KeyEntry, TrustedDirectory
from schemas.directory import Agency, Directory, PublicKey
from schemas.kinds import KeyStatus, KeyUse

DIRECTORY_LABEL = b"caselink/directory/v1\x00"
MAX_DIRECTORY_BYTES = 64 * 1024 * 1024
_DOCUMENT_KEYS = frozenset({"directory", "signature"})


def _directory_bytes(directory: Directory) -> bytes:
    return canonical_json(directory.model_dump(mode="json", exclude_none=True))


def _sign(directory: Directory, root: RootKey) -> bytes:
    body = _directory_bytes(directory)
    signature = root.sign(DIRECTORY_LABEL + body)
    return b'{"directory":' + body + b',"signature":"' + b64e(signature).encode("ascii") + b'"}'


def build_directory(agencies: Iterable[Agency], root: RootKey, now: int, serial: int = 1) -> bytes:
    """Sign a directory of `agencies` with the root key; returns the signed document.

    Raises DirectoryMalformed when the agencies do not form a valid directory (for
    instance duplicate agency ids or key ids).
    """
    try:
        directory = Directory(
            serial=serial, issued_at=now, root_kid=root.kid, agencies=list(agencies)
        )
    except ValidationError as exc:
        raise DirectoryMalformed(f"invalid at {error_locations(exc, Directory)}") from exc
    return _sign(directory, root)


def _load_keys(directory: Directory) -> dict[str, KeyEntry]:
    entries: dict[str, KeyEntry] = {}
    for agency in directory.agencies:
        for key in agency.keys:
            try:
                raw = b64d(key.public)
                if kid_of(raw) != key.kid:
                    raise DirectoryKeyInvalid(f"key {key.kid} does not match its kid")
                if key.use is KeyUse.SIG:
                    entries[key.kid] = KeyEntry(agency.id, key, load_ed25519_public(raw), None)
                else:
                    entries[key.kid] = KeyEntry(
                        agency.id, key, None, load_hpke_public(key.alg, raw)
                    )
            except ValueError as exc:
                raise DirectoryKeyInvalid(f"key {key.kid} does not decode") from exc
    return entries


def _verify(raw: bytes, root_public: RootPublicKey, min_serial: int) -> TrustedDirectory:
    if len(raw) > MAX_DIRECTORY_BYTES:
        raise DirectoryMalformed(f"directory exceeds {MAX_DIRECTORY_BYTES} bytes")
    try:
        doc = loads_strict(raw)
    except JsonDuplicateKeyError as exc:
        raise DirectoryMalformed("a JSON object repeats a key") from exc
    except ValueError as exc:
        raise DirectoryMalformed("not an ASCII JSON document") from exc
    if not isinstance(doc, dict) or doc.keys() != _DOCUMENT_KEYS:
        raise DirectoryMalformed("top level must be exactly directory, signature")
    try:
        directory = Directory.model_validate(doc["directory"])
    except ValidationError as exc:
        raise DirectoryMalformed(f"invalid at {error_locations(exc, Directory)}") from exc
    try:
        signature = b64d(doc["signature"]) if isinstance(doc["signature"], str) else b""
    except ValueError:
        signature = b""
    if len(signature) != SIGNATURE_LEN:
        raise DirectoryMalformed("signature is not 64 bytes of canonical base64url")
    body = _directory_bytes(directory)
    expected = b'{"directory":' + body + b',"signature":"' + b64e(signature).encode("ascii") + b'"}'
    if expected != raw:
        raise DirectoryMalformed("directory is not in canonical JSON form")
    if directory.root_kid != root_public.kid:
        raise DirectoryWrongRoot("directory is signed for another root key")
    if not root_public.verify(signature, DIRECTORY_LABEL + body):
        raise DirectorySignatureInvalid("root signature does not verify")
    if directory.serial < min_serial:
        raise DirectoryRollback(f"serial {directory.serial} is below {min_serial}")
    return TrustedDirectory(directory, _load_keys(directory), _token=_CONSTRUCTION_TOKEN)


def verify_directory(
    raw: bytes, root_public: RootPublicKey, *, min_serial: int = 1
) -> TrustedDirectory:
    """Check a signed directory against the pinned root public key.

    Pass the serial of the last directory you accepted as `min_serial` so an old copy
    (one from before a revocation) cannot be replayed to you.
    Raises DirectoryMalformed, DirectoryWrongRoot, DirectorySignatureInvalid,
    DirectoryRollback, DirectoryKeyInvalid (all DirectoryError).
    """
    try:
        return _verify(raw, root_public, min_serial)
    except DirectoryError as err:
        err.evidence = err.evidence or evidence_of(raw)
        raise


def revoke_key(
    raw_or_trusted: bytes | TrustedDirectory, kid: str, root: RootKey, now: int
) -> bytes:
    """Re-sign the directory with key `kid` revoked at `now` and the serial raised by one.

    A raw document is verified against `root` first. Raises DirectoryUnknownKey when no key
    has that id, DirectoryError when it is already revoked, and verify_directory's errors.
    """
    if isinstance(raw_or_trusted, TrustedDirectory):
        trusted = raw_or_trusted
        if trusted.root_kid != root.kid:
            raise DirectoryWrongRoot("directory is signed for another root key")
    else:
        trusted = verify_directory(raw_or_trusted, root.public())
    entry = trusted.key(kid)
    if entry is None:
        raise DirectoryUnknownKey(f"no key {kid} in the directory")
    if entry.key.status is KeyStatus.REVOKED:
        raise DirectoryError(f"key {kid} is already revoked")
    old = trusted.directory
    revoked = PublicKey.model_validate(
        entry.key.model_dump() | {"status": KeyStatus.REVOKED, "revoked_at": now}
    )
    agencies = [
        agency.model_copy(update={"keys": [revoked if k.kid == kid else k for k in agency.keys]})
        if agency.id == entry.agency_id
        else agency
        for agency in old.agencies
    ]
    directory = Directory.model_validate(
        old.model_dump() | {"serial": old.serial + 1, "issued_at": now, "agencies": agencies}
    )
    return _sign(directory, root)
