"""Canonical JSON, strict base64url, the fast header encoder, and padding."""

import base64
import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.envelope import b64d, b64e, canonical_json, header_bytes
from broker.envelope.encoding import JsonDuplicateKeyError, JsonRejectedError, loads_strict
from broker.envelope.errors import MalformedEnvelope
from broker.envelope.suites import MAX_BUCKET, MIN_BUCKET, SUITES, bucket_for, pad, unpad
from schemas.header import EnvelopeHeader
from schemas.kinds import AckStatus, LawfulBasis, MessageKind, Suite, Urgency
from tests.strategies import agency_ids, unix_seconds, uuids

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _reference_canonical(text: str) -> bool:
    """True when text is exactly what an RFC 4648 base64url encoder without padding emits."""
    if any(c not in ALPHABET for c in text) or len(text) % 4 == 1:
        return False
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text


@given(st.binary(max_size=300))
def test_b64_round_trip(data: bytes) -> None:
    text = b64e(data)
    assert "=" not in text
    assert text == base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    assert b64d(text) == data


@pytest.mark.parametrize("length", [1, 2, 3, 4])
def test_b64d_accepts_exactly_the_canonical_strings(length: int) -> None:
    # Exhaustive over short strings drawn from the alphabet plus the usual impostors.
    chars = ALPHABET + "+/= .\n"
    if length == 4:  # keep it quick: only the last position varies over everything
        candidates = ("QUJ" + c for c in chars)
    else:
        candidates = ("".join(p) for p in itertools.product(chars, repeat=length))
    for text in candidates:
        try:
            b64d(text)
            accepted = True
        except ValueError:
            accepted = False
        assert accepted == _reference_canonical(text), text


@pytest.mark.parametrize(
    "text", ["QQ==", "QQ=", "QR", "Q", "a+b/", "QUJD\n", " QUJD", "QUJDé", "QUJD==", "Q\x00JD"]
)
def test_b64d_refuses(text: str) -> None:
    with pytest.raises(ValueError, match=r"ASCII|base64|bits"):
        b64d(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=20,
    )
)
def test_canonical_json_matches_the_spec_rule(value: object) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    assert canonical_json(value) == expected.encode("ascii")
    assert loads_strict(canonical_json(value)) == value


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b'{"a":1,"a":2}', JsonDuplicateKeyError),
        (b'{"x":{"a":1,"a":1}}', JsonDuplicateKeyError),
        (b'{"a":NaN}', JsonRejectedError),
        (b'{"a":Infinity}', JsonRejectedError),
        (b'{"a":-Infinity}', JsonRejectedError),
        (b'{"a":"\xc3\xa9"}', JsonRejectedError),  # ASCII only for envelopes
        (b"[" * 100_000 + b"]" * 100_000, JsonRejectedError),
        (b"1" * 5000, JsonRejectedError),
        (b"", JsonRejectedError),
    ],
)
def test_loads_strict_refuses(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        loads_strict(raw)


def test_loads_strict_utf8_for_bodies() -> None:
    assert loads_strict('{"a":"é"}'.encode(), encoding="utf-8") == {"a": "é"}


_acknowledgement_headers = st.builds(
    EnvelopeHeader,
    suite=st.sampled_from(Suite),
    message_id=uuids,
    thread_id=uuids,
    kind=st.just(MessageKind.ACKNOWLEDGEMENT),
    sender=agency_ids.map(lambda a: "s" + a[1:]),
    recipient=agency_ids.map(lambda a: "r" + a[1:]),
    sender_kid=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    recipient_kid=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    issued_at=unix_seconds.map(lambda t: t // 2),
    expires_at=st.just(2**40 - 1),
    urgency=st.none() | st.sampled_from(Urgency),
    respond_by=st.none() | unix_seconds,
    in_reply_to=uuids,
    status=st.sampled_from([s.value for s in AckStatus]),
    commitment=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
# Referrals and transfers: with or without the lawful basis of a sharing without consent.
_sharing_headers = st.builds(
    EnvelopeHeader,
    suite=st.sampled_from(Suite),
    message_id=uuids,
    thread_id=uuids,
    kind=st.sampled_from([MessageKind.REFERRAL, MessageKind.TRANSFER]),
    sender=agency_ids.map(lambda a: "s" + a[1:]),
    recipient=agency_ids.map(lambda a: "r" + a[1:]),
    sender_kid=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    recipient_kid=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
    issued_at=unix_seconds.map(lambda t: t // 2),
    expires_at=st.just(2**40 - 1),
    urgency=st.none() | st.sampled_from(Urgency),
    respond_by=st.none() | unix_seconds,
    basis=st.none() | st.sampled_from(LawfulBasis),
    commitment=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
)
headers = _acknowledgement_headers | _sharing_headers


@settings(max_examples=200)
@given(headers)
def test_fast_header_encoder_equals_canonical_json(header: EnvelopeHeader) -> None:
    assert header_bytes(header) == canonical_json(header.model_dump(mode="json", exclude_none=True))


@given(st.binary(max_size=5000))
def test_padding_round_trip(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) == bucket_for(len(data))
    assert len(padded) >= MIN_BUCKET
    assert len(padded) & (len(padded) - 1) == 0
    assert padded[len(data)] == 0x80
    assert set(padded[len(data) + 1 :]) <= {0}
    assert unpad(padded) == data


def test_bucket_edges() -> None:
    assert bucket_for(0) == MIN_BUCKET
    assert bucket_for(MIN_BUCKET - 1) == MIN_BUCKET
    assert bucket_for(MIN_BUCKET) == 2 * MIN_BUCKET
    assert bucket_for(MAX_BUCKET - 1) == MAX_BUCKET


@pytest.mark.parametrize(
    "padded",
    [
        bytes(MIN_BUCKET),  # no marker at all
        b"abc" + b"\x81" + bytes(MIN_BUCKET - 4),  # wrong marker
        b"abc\x80" + bytes(2 * MIN_BUCKET - 4),  # fits a smaller bucket
    ],
)
def test_unpad_refuses(padded: bytes) -> None:
    with pytest.raises(MalformedEnvelope):
        unpad(padded)


def test_suite_ciphertext_lengths() -> None:
    for spec in SUITES.values():
        tag = 16
        assert spec.ciphertext_len_ok(spec.enc_len + MIN_BUCKET + tag)
        assert spec.ciphertext_len_ok(spec.enc_len + MAX_BUCKET + tag)
        assert not spec.ciphertext_len_ok(spec.enc_len + MIN_BUCKET + tag - 1)
        assert not spec.ciphertext_len_ok(spec.enc_len + 3 * MIN_BUCKET + tag)
        assert not spec.ciphertext_len_ok(spec.enc_len + 2 * MAX_BUCKET + tag)
    assert SUITES[Suite.X25519].enc_len == 32
    assert SUITES[Suite.MLKEM768_X25519].enc_len == 1120
