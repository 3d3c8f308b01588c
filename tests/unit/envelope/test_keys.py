"""Key ids, key files (agency, root, root public) and their refusals."""

import hashlib
import json

import pytest

from broker.envelope import AgencyKeys, KeyFileError, RootKey, RootPublicKey, b64d, b64e
from broker.envelope.keys import kid_of
from schemas.kinds import AgencyKind, KeyAlgorithm, KeyStatus, KeyUse, Suite
from tests.unit.envelope.federation import NOW, Federation


def test_kids_are_sha256_of_the_raw_public_keys(fed: Federation) -> None:
    for key in fed.police.public_keys():
        raw = b64d(key.public)
        assert key.kid == hashlib.sha256(raw).hexdigest() == kid_of(raw)
    lengths = {key.alg: len(b64d(key.public)) for key in fed.police.public_keys()}
    assert lengths == {
        KeyAlgorithm.ED25519: 32,
        KeyAlgorithm.X25519: 32,
        KeyAlgorithm.MLKEM768_X25519: 1184 + 32,
    }


def test_public_keys_and_entry(fed: Federation) -> None:
    keys = fed.police.public_keys()
    assert [(k.use, k.alg) for k in keys] == [
        (KeyUse.SIG, KeyAlgorithm.ED25519),
        (KeyUse.ENC, KeyAlgorithm.MLKEM768_X25519),
        (KeyUse.ENC, KeyAlgorithm.X25519),
    ]
    assert all(k.status is KeyStatus.ACTIVE and k.revoked_at is None for k in keys)
    assert all((k.not_before, k.not_after) == (NOW, NOW + 2 * 365 * 86400) for k in keys)
    entry = fed.police.public_entry(AgencyKind.POLICE, "Police North", "North")
    assert (entry.id, entry.kind, entry.name, entry.region) == (
        "police-north",
        AgencyKind.POLICE,
        "Police North",
        "North",
    )
    assert entry.keys == keys


def test_signing_and_encryption_keys_are_separate(fed: Federation) -> None:
    kids = [k.kid for k in fed.police.public_keys()]
    assert len(set(kids)) == 3


def test_agency_key_file_round_trip(fed: Federation) -> None:
    raw = fed.police.to_bytes()
    loaded = AgencyKeys.from_bytes(raw)
    assert loaded.agency_id == "police-north"
    assert loaded.public_keys() == fed.police.public_keys()
    assert loaded.to_bytes() == raw
    for suite in Suite:
        assert loaded.encryption[suite].private_raw == fed.police.encryption[suite].private_raw
    assert len(loaded.encryption[Suite.MLKEM768_X25519].private_raw) == 64 + 32
    assert len(loaded.signing.private_raw) == 32


def test_repr_shows_no_key_material(fed: Federation) -> None:
    text = repr(fed.police)
    assert fed.police.signing.kid in text
    for suite in Suite:
        assert b64e(fed.police.encryption[suite].private_raw) not in text
        assert repr(fed.police.encryption[suite].private_raw) not in repr(
            fed.police.encryption[suite]
        )
    assert json.loads(fed.root.to_bytes())["private"] not in repr(fed.root)


def test_lifetime() -> None:
    keys = AgencyKeys.generate("school-one", now=100, lifetime_s=50)
    assert {(k.not_before, k.not_after) for k in keys.public_keys()} == {(100, 150)}


def test_bad_agency_id() -> None:
    with pytest.raises(ValueError, match="agency"):
        AgencyKeys.generate("Not A Slug", now=NOW)


def _mutate(raw: bytes, change: object) -> bytes:
    doc = json.loads(raw)
    change(doc)  # type: ignore[operator]
    return json.dumps(doc).encode()


def _swap_private(doc: dict) -> None:  # type: ignore[type-arg]
    doc["keys"][1]["private"], doc["keys"][2]["private"] = (
        doc["keys"][2]["private"],
        doc["keys"][1]["private"],
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(format="caselink/agency-keys/v2"),
        lambda d: d.update(extra=1),
        lambda d: d.update(agency_id="NOPE"),
        lambda d: d["keys"].pop(0),  # no signing key
        lambda d: d["keys"].__setitem__(slice(1, 3), []),  # no encryption key
        lambda d: d["keys"].append(dict(d["keys"][1])),  # two keys for one suite
        lambda d: d["keys"][0].update(private=d["keys"][0]["private"][:-2]),
        lambda d: d["keys"][0].update(private=d["keys"][0]["private"] + "="),
        lambda d: d["keys"][0].update(kid="0" * 64),
        lambda d: d["keys"][0].update(alg="X25519"),
        lambda d: d["keys"][1].update(use="sig"),
        lambda d: d["keys"][0].update(not_after=d["keys"][0]["not_before"]),
        _swap_private,
    ],
)
def test_agency_key_file_refusals(fed: Federation, change: object) -> None:
    raw = _mutate(fed.police.to_bytes(), change)
    with pytest.raises(KeyFileError) as caught:
        AgencyKeys.from_bytes(raw)
    text = str(caught.value)
    assert text.startswith("key_file_error")
    for key in json.loads(raw)["keys"]:
        assert key["private"] not in text
        assert key["private"][:16] not in repr(caught.value)
    assert caught.value.__cause__ is None or "private" not in str(caught.value.__cause__)


@pytest.mark.parametrize(
    "raw", [b"", b"null", b"[]", b'{"format":1}', b'{"a":1,"a":1}', b"\xff", b'{"keys": NaN}']
)
def test_agency_key_file_garbage(raw: bytes) -> None:
    with pytest.raises(KeyFileError):
        AgencyKeys.from_bytes(raw)


def test_key_file_errors_never_echo_private_keys(fed: Federation) -> None:
    # A private key placed where a short field belongs would be echoed by pydantic.
    secret = json.loads(fed.police.to_bytes())["keys"][0]["private"]
    raw = _mutate(fed.police.to_bytes(), lambda d: d.update(agency_id=secret))
    with pytest.raises(KeyFileError) as caught:
        AgencyKeys.from_bytes(raw)
    assert secret not in str(caught.value)
    assert caught.value.__cause__ is None


def test_root_key_files(fed: Federation) -> None:
    loaded = RootKey.from_bytes(fed.root.to_bytes())
    assert loaded.kid == fed.root.kid == fed.root.public().kid
    assert loaded.to_bytes() == fed.root.to_bytes()
    public = RootPublicKey.from_bytes(fed.root.public().to_bytes())
    assert public == fed.root.public()
    assert public.kid == hashlib.sha256(public.public_raw).hexdigest()
    assert public.verify(fed.root.sign(b"x"), b"x")
    assert not public.verify(fed.root.sign(b"x"), b"y")
    assert "private" not in json.loads(fed.root.public().to_bytes())


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(kid="0" * 64),
        lambda d: d.update(alg="X25519"),
        lambda d: d.update(public=d["public"][:-1]),
        lambda d: d.update(format="caselink/root-key/v1"),
    ],
)
def test_root_public_key_refusals(fed: Federation, change: object) -> None:
    with pytest.raises(KeyFileError):
        RootPublicKey.from_bytes(_mutate(fed.root.public().to_bytes(), change))


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(kid="0" * 64),
        lambda d: d.update(private=d["private"][:-1]),
        lambda d: d.pop("created_at"),
    ],
)
def test_root_key_refusals(fed: Federation, change: object) -> None:
    with pytest.raises(KeyFileError):
        RootKey.from_bytes(_mutate(fed.root.to_bytes(), change))
