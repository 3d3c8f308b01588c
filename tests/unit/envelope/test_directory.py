"""The root-signed directory: build, verify, tamper, wrong root, revoke, lookups."""

import json

import pytest

from broker.envelope import (
    DIRECTORY_LABEL,
    AgencyKeys,
    DirectoryError,
    DirectoryKeyInvalid,
    DirectoryMalformed,
    DirectoryRollback,
    DirectorySignatureInvalid,
    DirectoryUnknownKey,
    DirectoryWrongRoot,
    KeyRevoked,
    RootKey,
    TrustedDirectory,
    UnknownRecipient,
    b64d,
    b64e,
    build_directory,
    canonical_json,
    open_envelope,
    revoke_key,
    seal,
    verify_directory,
)
from broker.envelope.errors import evidence_of
from schemas.examples import THREAD_ID, example_body
from schemas.kinds import AgencyKind, KeyAlgorithm, KeyStatus, MessageKind, Suite
from tests.unit.envelope.federation import NOW, Federation
from tests.unit.envelope.helpers import referral_envelope


def _resign(doc: dict, root: RootKey) -> bytes:  # type: ignore[type-arg]
    body = canonical_json(doc["directory"])
    signature = root.sign(DIRECTORY_LABEL + body)
    return canonical_json({"directory": doc["directory"], "signature": b64e(signature)})


def test_round_trip(fed: Federation) -> None:
    trusted = verify_directory(fed.raw_directory, fed.root.public())
    assert trusted.serial == 1
    assert trusted.root_kid == fed.root.kid
    assert [a.id for a in trusted.directory.agencies] == [
        "police-north",
        "health-east",
        "social-west",
    ]
    doc = json.loads(fed.raw_directory)
    assert set(doc) == {"directory", "signature"}
    assert canonical_json(doc) == fed.raw_directory
    assert fed.root.public().verify(
        b64d(doc["signature"]), DIRECTORY_LABEL + canonical_json(doc["directory"])
    )


def test_lookups(fed: Federation) -> None:
    d = fed.directory
    assert d.agency("health-east") is not None
    assert d.agency("nobody-here") is None
    entry = d.key(fed.health.signing.kid)
    assert entry is not None
    assert entry.agency_id == "health-east"
    assert entry.sig_public
    enc = d.active_enc_key("health-east", KeyAlgorithm.X25519, NOW)
    assert enc is not None
    assert enc.key.kid == fed.health.encryption[Suite.X25519].kid
    assert enc.enc_public is not None
    assert d.active_enc_key("health-east", KeyAlgorithm.X25519, NOW - 1) is None
    assert d.active_enc_key("health-east", KeyAlgorithm.X25519, NOW + 2 * 365 * 86400) is None
    assert d.key("0" * 64) is None


def test_only_verify_directory_makes_a_trusted_directory(fed: Federation) -> None:
    with pytest.raises(TypeError):
        TrustedDirectory(fed.directory.directory, {})


def test_tampered_directory_is_refused(fed: Federation) -> None:
    doc = json.loads(fed.raw_directory)
    doc["directory"]["agencies"][0]["name"] = "Police Nortt"
    with pytest.raises(DirectorySignatureInvalid) as caught:
        verify_directory(canonical_json(doc), fed.root.public())
    assert caught.value.evidence == evidence_of(canonical_json(doc))


def test_swapped_key_is_refused(fed: Federation) -> None:
    # An attacker who could edit the directory would put their own key under health-east.
    doc = json.loads(fed.raw_directory)
    agencies = doc["directory"]["agencies"]
    agencies[1]["keys"][2]["public"] = agencies[2]["keys"][2]["public"]
    with pytest.raises(DirectorySignatureInvalid):
        verify_directory(canonical_json(doc), fed.root.public())


def test_wrong_root_is_refused(fed: Federation) -> None:
    other = RootKey.generate(now=NOW)
    with pytest.raises(DirectoryWrongRoot):
        verify_directory(fed.raw_directory, other.public())
    # Same claimed root kid, signed by another key: the signature check catches it.
    with pytest.raises(DirectorySignatureInvalid):
        verify_directory(_resign(json.loads(fed.raw_directory), other), fed.root.public())


def test_signature_over_the_wrong_label_is_refused(fed: Federation) -> None:
    doc = json.loads(fed.raw_directory)
    signature = fed.root.sign(canonical_json(doc["directory"]))  # no domain label
    raw = canonical_json({"directory": doc["directory"], "signature": b64e(signature)})
    with pytest.raises(DirectorySignatureInvalid):
        verify_directory(raw, fed.root.public())


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda raw: raw + b"\n",
        lambda raw: json.dumps(json.loads(raw)).encode(),
        lambda raw: raw.replace(b'{"directory":', b'{"directory":{},"directory":', 1),
        lambda raw: raw[:-10],
        lambda raw: b"[]",
        lambda raw: raw.replace(b'"serial":1', b'"serial":1.0'),
    ],
)
def test_malformed_directory_is_refused(fed: Federation, rewrite: object) -> None:
    with pytest.raises(DirectoryMalformed):
        verify_directory(rewrite(fed.raw_directory), fed.root.public())  # type: ignore[operator]


def test_key_not_matching_its_kid_is_refused(fed: Federation) -> None:
    doc = json.loads(fed.raw_directory)
    doc["directory"]["agencies"][0]["keys"][0]["kid"] = "0" * 64
    with pytest.raises(DirectoryKeyInvalid):
        verify_directory(_resign(doc, fed.root), fed.root.public())


def test_key_of_the_wrong_length_is_refused(fed: Federation) -> None:
    doc = json.loads(fed.raw_directory)
    key = doc["directory"]["agencies"][0]["keys"][2]
    raw = b64d(key["public"]) + b"\x00"
    key["public"], key["kid"] = b64e(raw), __import__("hashlib").sha256(raw).hexdigest()
    with pytest.raises(DirectoryKeyInvalid):
        verify_directory(_resign(doc, fed.root), fed.root.public())


def test_duplicate_agency_is_refused(fed: Federation) -> None:
    entry = fed.police.public_entry(AgencyKind.POLICE, "Police North")
    with pytest.raises(DirectoryMalformed):
        build_directory([entry, entry], fed.root, NOW)


def test_revoke_bumps_serial_and_open_refuses(fed: Federation) -> None:
    raw = referral_envelope(fed)
    revoked_raw = revoke_key(fed.raw_directory, fed.police.signing.kid, fed.root, NOW + 5)
    revoked = verify_directory(revoked_raw, fed.root.public())
    assert revoked.serial == 2
    assert revoked.directory.issued_at == NOW + 5
    entry = revoked.key(fed.police.signing.kid)
    assert entry is not None
    assert entry.key.status is KeyStatus.REVOKED
    assert entry.key.revoked_at == NOW + 5
    # Every other key is untouched.
    before = {k.kid: k for a in fed.directory.directory.agencies for k in a.keys}
    after = {k.kid: k for a in revoked.directory.agencies for k in a.keys}
    assert {k for k in before if before[k] != after[k]} == {fed.police.signing.kid}
    with pytest.raises(KeyRevoked):
        open_envelope(raw, keys=fed.health, directory=revoked, now=NOW + 10)
    with pytest.raises(KeyRevoked):  # and a revoked sender cannot seal any more
        referral_envelope_with(fed, revoked)
    # Revoking from a TrustedDirectory works too, and serials keep growing.
    again = revoke_key(revoked, fed.health.signing.kid, fed.root, NOW + 6)
    assert verify_directory(again, fed.root.public()).serial == 3


def referral_envelope_with(fed: Federation, directory: TrustedDirectory) -> bytes:
    return seal(
        example_body(MessageKind.REFERRAL),
        kind=MessageKind.REFERRAL,
        sender=fed.police,
        recipient="health-east",
        directory=directory,
        now=NOW + 10,
        thread_id=THREAD_ID,
    )


def test_revoked_encryption_key_is_not_sealed_to(fed: Federation) -> None:
    kid = fed.health.encryption[Suite.MLKEM768_X25519].kid
    revoked = verify_directory(revoke_key(fed.raw_directory, kid, fed.root, NOW), fed.root.public())
    with pytest.raises(UnknownRecipient):
        referral_envelope_with(fed, revoked)


def test_revoke_refusals(fed: Federation) -> None:
    with pytest.raises(DirectoryUnknownKey):
        revoke_key(fed.raw_directory, "0" * 64, fed.root, NOW)
    once = revoke_key(fed.raw_directory, fed.police.signing.kid, fed.root, NOW)
    with pytest.raises(DirectoryError):
        revoke_key(once, fed.police.signing.kid, fed.root, NOW)
    other = RootKey.generate(now=NOW)
    with pytest.raises(DirectoryWrongRoot):
        revoke_key(fed.raw_directory, fed.police.signing.kid, other, NOW)
    with pytest.raises(DirectoryWrongRoot):
        revoke_key(fed.directory, fed.police.signing.kid, other, NOW)


def test_rollback_is_refused(fed: Federation) -> None:
    newer = revoke_key(fed.raw_directory, fed.police.signing.kid, fed.root, NOW)
    assert verify_directory(newer, fed.root.public(), min_serial=2).serial == 2
    with pytest.raises(DirectoryRollback):
        verify_directory(fed.raw_directory, fed.root.public(), min_serial=2)


def test_oversized_directory_is_refused(fed: Federation) -> None:
    from broker.envelope import MAX_DIRECTORY_BYTES

    with pytest.raises(DirectoryMalformed):
        verify_directory(b" " * (MAX_DIRECTORY_BYTES + 1), fed.root.public())


def test_rotated_key_newest_wins() -> None:
    root = RootKey.generate(now=NOW)
    old = AgencyKeys.generate("health-east", now=NOW)
    new = AgencyKeys.generate("health-east", now=NOW + 100)
    entry = old.public_entry(AgencyKind.HEALTH, "Health East")
    both = entry.model_copy(update={"keys": entry.keys + new.public_keys()[1:]})
    trusted = verify_directory(build_directory([both], root, NOW), root.public())
    current = trusted.active_enc_key("health-east", KeyAlgorithm.X25519, NOW + 100)
    assert current is not None
    assert current.key.kid == new.encryption[Suite.X25519].kid
    earlier = trusted.active_enc_key("health-east", KeyAlgorithm.X25519, NOW + 99)
    assert earlier is not None
    assert earlier.key.kid == old.encryption[Suite.X25519].kid
