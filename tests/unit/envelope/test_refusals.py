"""Each way an envelope can be wrong is refused with its own error type."""

import json

import pytest

from broker.envelope import (
    MAX_ENVELOPE_BYTES,
    BadSignature,
    BodySchemaError,
    CommitmentMismatch,
    DecryptionFailed,
    DuplicateKey,
    EnvelopeError,
    EnvelopeTooLarge,
    HeaderBodyMismatch,
    IssuedInFuture,
    KeyExpired,
    KeyRevoked,
    MalformedEnvelope,
    MessageExpired,
    NonCanonicalEncoding,
    NotForRecipient,
    OutsideValidityWindow,
    UnknownKey,
    UnknownSender,
    UnsupportedSuite,
    UnsupportedVersion,
    build_directory,
    open_envelope,
    revoke_key,
    verify_directory,
    verify_header,
)
from broker.envelope.errors import evidence_of
from schemas.examples import example_body
from schemas.kinds import AgencyKind, MessageKind, Suite
from tests.unit.envelope.federation import NOW, Federation
from tests.unit.envelope.helpers import assemble, forge, referral_envelope, sign, split


def _open(fed: Federation, raw: bytes, now: int = NOW) -> None:
    open_envelope(raw, keys=fed.health, directory=fed.directory, now=now)


def _refused(
    fed: Federation, raw: bytes, error: type[EnvelopeError], now: int = NOW
) -> EnvelopeError:
    with pytest.raises(error) as caught:
        _open(fed, raw, now)
    return caught.value


def _genuine_header(fed: Federation, suite: Suite = Suite.X25519) -> dict[str, object]:
    header, _, _ = split(referral_envelope(fed, suite=suite))
    return header


def _body_json() -> bytes:
    return example_body(MessageKind.REFERRAL).model_dump_json().encode()


def test_swapped_header_is_a_bad_signature(fed: Federation) -> None:
    header1, _, _ = split(referral_envelope(fed))
    _, ciphertext2, signature2 = split(referral_envelope(fed))
    _refused(fed, assemble(header1, ciphertext2, signature2), BadSignature)


def test_ciphertext_moved_to_another_header_is_a_bad_signature(fed: Federation) -> None:
    header1, _, signature1 = split(referral_envelope(fed))
    _, ciphertext2, _ = split(referral_envelope(fed))
    _refused(fed, assemble(header1, ciphertext2, signature1), BadSignature)


def test_resigned_by_another_agency_fails_decryption(fed: Federation) -> None:
    # C takes A's envelope, claims it as its own and signs it: the signature now checks out,
    # but HPKE info binds the original header, so the ciphertext no longer decrypts.
    header, ciphertext, _ = split(referral_envelope(fed))
    header = {**header, "sender": "social-west", "sender_kid": fed.social.signing.kid}
    forged = assemble(header, ciphertext, sign(header, ciphertext, fed.social.signing.private))
    assert verify_header(forged, directory=fed.directory, now=NOW).sender == "social-west"
    _refused(fed, forged, DecryptionFailed)


def test_low_order_hpke_enc_fails_decryption(fed: Federation) -> None:
    # A legitimate but malicious sender signs a ciphertext whose X25519 share is all zeros.
    header, ciphertext, _ = split(referral_envelope(fed))
    bogus = bytes(32) + ciphertext[32:]
    forged = assemble(header, bogus, sign(header, bogus, fed.police.signing.private))
    _refused(fed, forged, DecryptionFailed)


def test_same_header_signed_by_another_agency_is_a_bad_signature(fed: Federation) -> None:
    header, ciphertext, _ = split(referral_envelope(fed))
    forged = assemble(header, ciphertext, sign(header, ciphertext, fed.social.signing.private))
    _refused(fed, forged, BadSignature)


def test_opened_by_the_wrong_agency(fed: Federation) -> None:
    raw = referral_envelope(fed)
    with pytest.raises(NotForRecipient):
        open_envelope(raw, keys=fed.social, directory=fed.directory, now=NOW)


def test_recipient_kid_that_is_not_ours(fed: Federation) -> None:
    header = {**_genuine_header(fed), "recipient_kid": fed.social.encryption[Suite.X25519].kid}
    forged = forge(header, _body_json(), fed.police, fed.directory)
    _refused(fed, forged, UnknownKey)


def test_revoked_sender_key(fed: Federation) -> None:
    raw = referral_envelope(fed)
    revoked = revoke_key(fed.raw_directory, fed.police.signing.kid, fed.root, NOW + 10)
    directory = verify_directory(revoked, fed.root.public())
    with pytest.raises(KeyRevoked):
        open_envelope(raw, keys=fed.health, directory=directory, now=NOW + 20)
    with pytest.raises(KeyRevoked):
        verify_header(raw, directory=directory, now=NOW + 20)


def test_expired(fed: Federation) -> None:
    raw = referral_envelope(fed, ttl_s=3600)
    _open(fed, raw, NOW + 3600 + 300)  # inside the skew allowance
    error = _refused(fed, raw, MessageExpired, NOW + 3600 + 301)
    assert isinstance(error, OutsideValidityWindow)


def test_from_the_future_beyond_skew(fed: Federation) -> None:
    raw = referral_envelope(fed, now=NOW + 1000)
    _open(fed, raw, NOW + 700)  # within the 300 s skew
    error = _refused(fed, raw, IssuedInFuture, NOW + 699)
    assert isinstance(error, OutsideValidityWindow)


def test_validity_window_longer_than_allowed(fed: Federation) -> None:
    header = {**_genuine_header(fed), "expires_at": NOW + 40 * 86400}
    forged = forge(header, _body_json(), fed.police, fed.directory)
    error = _refused(fed, forged, OutsideValidityWindow)
    assert type(error) is OutsideValidityWindow


def test_oversized(fed: Federation) -> None:
    _refused(fed, b"{" + b" " * MAX_ENVELOPE_BYTES + b"}", EnvelopeTooLarge)


@pytest.mark.parametrize("cut", [1, 2, 10, 100, 1000])
def test_truncated(fed: Federation, cut: int) -> None:
    _refused(fed, referral_envelope(fed)[:-cut], MalformedEnvelope)


def test_duplicate_top_level_key(fed: Federation) -> None:
    raw = referral_envelope(fed)
    duplicated = raw[:-1] + b',"signature":"' + json.loads(raw)["signature"].encode() + b'"}'
    _refused(fed, duplicated, DuplicateKey)


def test_duplicate_header_key(fed: Federation) -> None:
    raw = referral_envelope(fed)
    duplicated = raw.replace(b'"header":{', b'"header":{"kind":"alert",', 1)
    _refused(fed, duplicated, DuplicateKey)


def test_non_canonical_whitespace(fed: Federation) -> None:
    spaced = json.dumps(json.loads(referral_envelope(fed)), sort_keys=True).encode()
    _refused(fed, spaced, NonCanonicalEncoding)


def _reordered(raw: bytes) -> bytes:
    doc = json.loads(raw)
    return json.dumps(
        {"signature": doc["signature"], "ciphertext": doc["ciphertext"], "header": doc["header"]},
        separators=(",", ":"),
    ).encode()


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda raw: raw + b"\n",
        lambda raw: b" " + raw,
        _reordered,
        lambda raw: raw.replace(b'"v":1', b'"v":1.0'),
        lambda raw: raw.replace(b"police-north", b"police\\u002dnorth"),
        lambda raw: raw.replace(b'"issued_at":1750000000', b'"issued_at":1.75e9'),
        lambda raw: raw.replace(b'"issued_at":', b'"issued_at":0'),
        lambda raw: raw.replace(b'"kind":"referral"', b'"kind":"REFERRAL"'),
    ],
)
def test_other_encodings_of_the_same_content(fed: Federation, rewrite: object) -> None:
    raw = referral_envelope(fed)
    changed = rewrite(raw)  # type: ignore[operator]
    assert changed != raw
    _refused(fed, changed, MalformedEnvelope)


def test_padded_base64_is_non_canonical(fed: Federation) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    raw = assemble(header, ciphertext, signature)
    text = json.loads(raw)["signature"]
    _refused(fed, raw.replace(text.encode(), text.encode() + b"=="), NonCanonicalEncoding)


def test_null_header_field_is_non_canonical(fed: Federation) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    raw = assemble({**header, "in_reply_to": None}, ciphertext, signature)
    _refused(fed, raw, NonCanonicalEncoding)


def test_unknown_sender(fed: Federation) -> None:
    raw = referral_envelope(fed)
    without_police = build_directory(
        [
            fed.health.public_entry(AgencyKind.HEALTH, "Health East"),
            fed.social.public_entry(AgencyKind.SOCIAL_SERVICES, "Social West"),
        ],
        fed.root,
        NOW,
    )
    directory = verify_directory(without_police, fed.root.public())
    with pytest.raises(UnknownSender):
        open_envelope(raw, keys=fed.health, directory=directory, now=NOW)


def test_sender_kid_of_another_agency(fed: Federation) -> None:
    header = {**_genuine_header(fed), "sender_kid": fed.social.signing.kid}
    forged = forge(header, _body_json(), fed.social, fed.directory)
    _refused(fed, forged, UnknownKey)


def test_sender_key_not_valid_at_issued_at(fed: Federation) -> None:
    header = {
        **_genuine_header(fed),
        "issued_at": NOW - 10,  # keys are valid from NOW
        "expires_at": NOW + 3600,
    }
    forged = forge(header, _body_json(), fed.police, fed.directory)
    _refused(fed, forged, KeyExpired)


@pytest.mark.parametrize("version", [0, 2, "1", None])
def test_unsupported_version(fed: Federation, version: object) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    _refused(fed, assemble({**header, "v": version}, ciphertext, signature), UnsupportedVersion)


@pytest.mark.parametrize("suite", ["hpke-p256-hkdfsha256-aes128gcm", "", 7, ["x"]])
def test_unsupported_suite(fed: Federation, suite: object) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    _refused(fed, assemble({**header, "suite": suite}, ciphertext, signature), UnsupportedSuite)


def test_signature_of_the_wrong_length(fed: Federation) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    _refused(fed, assemble(header, ciphertext, signature + b"\x00"), MalformedEnvelope)


def test_ciphertext_not_a_padding_bucket(fed: Federation) -> None:
    header, ciphertext, signature = split(referral_envelope(fed))
    _refused(fed, assemble(header, ciphertext[:-1], signature), MalformedEnvelope)


def test_commitment_mismatch(fed: Federation) -> None:
    # The real sender signs and encrypts a header whose commitment is for another body.
    forged = forge(_genuine_header(fed), _body_json(), fed.police, fed.directory, commit="0" * 64)
    _refused(fed, forged, CommitmentMismatch)


MARKER = "ZZ-SECRET-MARKER-41"


@pytest.mark.parametrize(
    "body_json",
    [
        b'{"not": "a referral", "name": "' + MARKER.encode() + b'"}',
        b'{"' + MARKER.encode() + b'": 1}',
        b'{"narrative": "' + MARKER.encode() + b'", "urgency": "' + MARKER.encode() + b'"}',
        b'{"narrative": "a", "narrative": "' + MARKER.encode() + b'"}',
        b"[" + MARKER.encode() + b"]",
        b"\xff\xfe" + MARKER.encode(),
        b"",
    ],
)
def test_body_schema_error_never_repeats_the_body(fed: Federation, body_json: bytes) -> None:
    forged = forge(_genuine_header(fed), body_json, fed.police, fed.directory)
    error = _refused(fed, forged, BodySchemaError)
    text = str(error)
    assert MARKER not in text
    assert MARKER not in repr(error)
    assert "\n" not in text
    assert text.startswith("body_schema_error")
    assert error.__cause__ is None  # nothing carrying the body rides along in tracebacks


def test_body_schema_error_names_field_locations(fed: Federation) -> None:
    body = example_body(MessageKind.REFERRAL).model_dump(mode="json")
    body["narrative"] = ""
    body["subject"]["given_name"] = MARKER + "\n"
    body_json = json.dumps(body).encode()
    forged = forge(_genuine_header(fed), body_json, fed.police, fed.directory)
    error = _refused(fed, forged, BodySchemaError)
    assert "narrative" in str(error)
    assert "subject.given_name" in str(error)
    assert MARKER not in str(error)


def test_header_disagreeing_with_body(fed: Federation) -> None:
    # The body says urgency "high"; the signed header claims "low".
    header = {**_genuine_header(fed), "urgency": "low"}
    forged = forge(header, _body_json(), fed.police, fed.directory)
    _refused(fed, forged, HeaderBodyMismatch)


def test_errors_carry_ids_and_evidence(fed: Federation) -> None:
    raw = referral_envelope(fed)
    header, ciphertext, _ = split(raw)
    forged = assemble(header, ciphertext, b"\x00" * 64)
    error = _refused(fed, forged, BadSignature)
    assert error.reason == "bad_signature"
    assert (error.message_id, error.sender, error.recipient) == (
        header["message_id"],
        "police-north",
        "health-east",
    )
    assert error.evidence == evidence_of(forged)
    text = str(error)
    assert text.startswith("bad_signature: ")
    assert f"message_id={header['message_id']}" in text
    assert f"evidence={error.evidence}" in text


def test_error_before_the_header_is_known_still_has_evidence(fed: Federation) -> None:
    error = _refused(fed, b"not json", MalformedEnvelope)
    assert error.evidence == evidence_of(b"not json")
    assert error.message_id is None
    assert str(error).startswith("malformed_envelope: ")


def test_errors_survive_pickling(fed: Federation) -> None:
    # Workers hand errors across process boundaries (dead-letter reasons, alerts).
    import pickle

    header, ciphertext, _ = split(referral_envelope(fed))
    error = _refused(fed, assemble(header, ciphertext, bytes(64)), BadSignature)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is BadSignature
    assert str(copy) == str(error)
    assert (copy.message_id, copy.sender, copy.evidence) == (
        error.message_id,
        error.sender,
        error.evidence,
    )


# The four cases docs/envelope.md once left open ("Cases an implementation must decide"):
# each envelope below is signed and encrypted correctly, so only the case itself can refuse it.


@pytest.mark.parametrize("where", ["top", "nested"])
def test_body_with_a_field_the_schema_does_not_know(fed: Federation, where: str) -> None:
    body = example_body(MessageKind.REFERRAL).model_dump(mode="json")
    if where == "top":
        body[MARKER] = "x"
    else:
        body["subject"] = {**body["subject"], MARKER: "x"}
    forged = forge(_genuine_header(fed), json.dumps(body).encode(), fed.police, fed.directory)
    error = _refused(fed, forged, BodySchemaError)
    assert type(error) is BodySchemaError
    assert error.reason == "body_schema_error"
    assert "extra_forbidden" in str(error)
    assert MARKER not in str(error)  # an unknown field's name is the sender's text


@pytest.mark.parametrize("version", ["missing", "1", None])
def test_version_missing_or_not_an_integer(fed: Federation, version: object) -> None:
    header = _genuine_header(fed)
    del header["v"]
    if version != "missing":
        header["v"] = version
    forged = forge(header, _body_json(), fed.police, fed.directory)
    error = _refused(fed, forged, UnsupportedVersion)
    assert error.reason == "unsupported_version"


@pytest.mark.parametrize("field", ["urgency", "respond_by", "in_reply_to", "status"])
def test_optional_header_field_set_to_null(fed: Federation, field: str) -> None:
    # The canonical form omits null fields, so a signed null is another encoding.
    forged = forge({**_genuine_header(fed), field: None}, _body_json(), fed.police, fed.directory)
    error = _refused(fed, forged, NonCanonicalEncoding)
    assert error.reason == "non_canonical_encoding"


@pytest.mark.parametrize(
    "field", ["thread_id", "message_id", "sender", "kind", "issued_at", "commitment"]
)
def test_required_header_field_set_to_null(fed: Federation, field: str) -> None:
    header, ciphertext, _ = split(referral_envelope(fed))
    header = {**header, field: None}
    signed = assemble(header, ciphertext, sign(header, ciphertext, fed.police.signing.private))
    error = _refused(fed, signed, MalformedEnvelope)
    assert type(error) is MalformedEnvelope
    assert error.reason == "malformed_envelope"
    assert f"{field}:" in str(error)


@pytest.mark.parametrize(
    ("field", "error"), [("v", UnsupportedVersion), ("suite", UnsupportedSuite)]
)
def test_version_or_suite_set_to_null(
    fed: Federation, field: str, error: type[EnvelopeError]
) -> None:
    header, ciphertext, _ = split(referral_envelope(fed))
    header = {**header, field: None}
    signed = assemble(header, ciphertext, sign(header, ciphertext, fed.police.signing.private))
    assert type(_refused(fed, signed, error)) is error
