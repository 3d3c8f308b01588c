"""An independent opener, written from docs/envelope.md only, reads the published vectors.

It uses no broker.envelope code and no HPKE library: just JSON, base64, SHA-2/SHA-3, HMAC,
X25519, ML-KEM-768 decapsulation, Ed25519 and AES-256-GCM primitives, put together as RFC
9180 (base mode) and the X-Wing combiner describe. If it opens the vectors, the spec's
suite ids, labels and byte layouts are the ones the implementation really uses.
"""

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VECTORS = Path(__file__).parents[2] / "vectors" / "envelope_vectors.json"
SUITE_IDS = {  # suite name -> (KEM id, KDF id, AEAD id, enc length)
    "hpke-x25519-hkdfsha256-aes256gcm": (0x0020, 0x0001, 0x0002, 32),
    "hpke-mlkem768x25519-hkdfsha256-aes256gcm": (0x647A, 0x0001, 0x0002, 1120),
}
XWING_LABEL = b"\\.//^\\"


def b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


# --- RFC 9180 with HKDF-SHA256 --------------------------------------------------------


def extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()


def expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out, counter = out + block, counter + 1
    return out[:length]


def labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, n: int) -> bytes:
    return expand(prk, n.to_bytes(2, "big") + b"HPKE-v1" + suite_id + label + info, n)


def dhkem_x25519_decap(enc: bytes, sk: bytes) -> bytes:
    """RFC 9180 section 4.1, DHKEM(X25519, HKDF-SHA256)."""
    private = x25519.X25519PrivateKey.from_private_bytes(sk)
    dh = private.exchange(x25519.X25519PublicKey.from_public_bytes(enc))
    kem_context = enc + private.public_key().public_bytes_raw()
    suite_id = b"KEM" + (0x0020).to_bytes(2, "big")
    prk = labeled_extract(suite_id, b"", b"eae_prk", dh)
    return labeled_expand(suite_id, prk, b"shared_secret", kem_context, 32)


def xwing_decap(enc: bytes, sk: bytes) -> bytes:
    """MLKEM768-X25519 (X-Wing): SHA3-256(ss_M || ss_X || ct_X || pk_X || label)."""
    ss_m = mlkem.MLKEM768PrivateKey.from_seed_bytes(sk[:64]).decapsulate(enc[:1088])
    dh_private = x25519.X25519PrivateKey.from_private_bytes(sk[64:])
    ct_x = enc[1088:]
    ss_x = dh_private.exchange(x25519.X25519PublicKey.from_public_bytes(ct_x))
    pk_x = dh_private.public_key().public_bytes_raw()
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + XWING_LABEL).digest()


def hpke_open(suite: str, sk: bytes, data: bytes, info: bytes) -> bytes:
    """RFC 9180 base mode, single-shot Open with empty AAD (sequence number 0)."""
    kem_id, kdf_id, aead_id, enc_len = SUITE_IDS[suite]
    enc, ciphertext = data[:enc_len], data[enc_len:]
    shared = dhkem_x25519_decap(enc, sk) if kem_id == 0x0020 else xwing_decap(enc, sk)
    suite_id = b"HPKE" + b"".join(i.to_bytes(2, "big") for i in (kem_id, kdf_id, aead_id))
    context = (
        b"\x00"  # mode_base
        + labeled_extract(suite_id, b"", b"psk_id_hash", b"")
        + labeled_extract(suite_id, b"", b"info_hash", info)
    )
    secret = labeled_extract(suite_id, shared, b"secret", b"")
    key = labeled_expand(suite_id, secret, b"key", context, 32)
    nonce = labeled_expand(suite_id, secret, b"base_nonce", context, 12)
    return AESGCM(key).decrypt(nonce, ciphertext, b"")


# --- the envelope, per docs/envelope.md ----------------------------------------------


def independent_open(envelope: str, directory: dict[str, Any], keys: dict[str, Any]) -> Any:
    doc = json.loads(envelope)
    header, ciphertext, signature = doc["header"], b64(doc["ciphertext"]), b64(doc["signature"])
    header_json = canonical(header)
    assert canonical(doc) == envelope.encode()
    sender_key = next(
        k
        for agency in directory["agencies"]
        if agency["id"] == header["sender"]
        for k in agency["keys"]
        if k["kid"] == header["sender_kid"]
    )
    signed = (
        b"caselink/envelope/v1/sig\x00"
        + len(header_json).to_bytes(8, "big")
        + header_json
        + len(ciphertext).to_bytes(8, "big")
        + ciphertext
    )
    ed25519.Ed25519PublicKey.from_public_bytes(b64(sender_key["public"])).verify(signature, signed)
    private = next(k for k in keys["keys"] if k["kid"] == header["recipient_kid"])
    info = b"caselink/envelope/v1\x00" + hashlib.sha256(header_json).digest()
    padded = hpke_open(header["suite"], b64(private["private"]), ciphertext, info)
    plaintext = padded.rstrip(b"\x00")
    assert plaintext[-1] == 0x80
    salt, body_json = plaintext[:32], plaintext[32:-1]
    digest = hashlib.sha256(b"caselink/commit/v1\x00" + salt + body_json).hexdigest()
    assert digest == header["commitment"]
    return json.loads(body_json)


def _document() -> dict[str, Any]:
    return json.loads(VECTORS.read_text(encoding="ascii"))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "case",
    [case for case in _document()["cases"] if case["expect"] == "open"],
    ids=lambda case: case["name"],
)
def test_independent_opener_reads_the_vectors(case: dict[str, Any]) -> None:
    document = _document()
    directory = json.loads(document["directories"][case["directory"]])["directory"]
    keys = json.loads(document["private_keys"][case["recipient"]])
    body = independent_open(case["envelope"], directory, keys)
    assert body == case["body"]


def test_directory_signature_by_the_spec() -> None:
    document = _document()
    root = json.loads(document["root_public_key"])
    signed = json.loads(document["directories"]["base"])
    assert hashlib.sha256(b64(root["public"])).hexdigest() == root["kid"]
    assert signed["directory"]["root_kid"] == root["kid"]
    ed25519.Ed25519PublicKey.from_public_bytes(b64(root["public"])).verify(
        b64(signed["signature"]), b"caselink/directory/v1\x00" + canonical(signed["directory"])
    )
