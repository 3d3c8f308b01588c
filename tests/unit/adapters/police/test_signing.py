"""Standard Webhooks signatures: the published vector, the package agreeing, each refusal."""

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook

from adapters.police.signing import (
    MalformedHeaders,
    MissingHeaders,
    NoMatchingSignature,
    SecretError,
    StaleTimestamp,
    format_secret,
    parse_secret,
    signature,
    verify,
)

# standard-webhooks/standard-webhooks libraries/python/tests/test_webhooks.py
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def vector_headers(sig: str = VECTOR_SIGNATURE, ts: int = VECTOR_TS) -> dict[str, str]:
    return {"webhook-id": VECTOR_ID, "webhook-timestamp": str(ts), "webhook-signature": sig}


def test_the_published_vector() -> None:
    key = parse_secret(VECTOR_SECRET)
    assert signature(key, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    library = Webhook(VECTOR_SECRET).sign(
        VECTOR_ID, datetime.fromtimestamp(VECTOR_TS, UTC), VECTOR_BODY.decode()
    )
    assert library == VECTOR_SIGNATURE
    verified = verify([key], vector_headers(), VECTOR_BODY, now=VECTOR_TS)
    assert (verified.signer, verified.webhook_id, verified.timestamp) == (0, VECTOR_ID, VECTOR_TS)


@given(
    key=st.binary(min_size=24, max_size=64),
    webhook_id=st.from_regex(r"[A-Za-z0-9_]{1,40}", fullmatch=True),
    timestamp=st.integers(min_value=0, max_value=2**33),
    body=st.text(max_size=200),
)
def test_signatures_agree_with_the_package(
    key: bytes, webhook_id: str, timestamp: int, body: str
) -> None:
    ours = signature(key, webhook_id, timestamp, body.encode())
    theirs = Webhook(key).sign(webhook_id, datetime.fromtimestamp(timestamp, UTC), body)
    assert ours == theirs


def test_the_window_is_five_minutes_either_way() -> None:
    key = parse_secret(VECTOR_SECRET)
    verify([key], vector_headers(), VECTOR_BODY, now=VECTOR_TS + 300)
    verify([key], vector_headers(), VECTOR_BODY, now=VECTOR_TS - 300)
    for now in (VECTOR_TS + 301, VECTOR_TS - 301):
        with pytest.raises(StaleTimestamp):
            verify([key], vector_headers(), VECTOR_BODY, now=now)


def test_any_matching_key_and_entry_passes_and_names_the_signer() -> None:
    key = parse_secret(VECTOR_SECRET)
    other = bytes(range(32))
    wrong = signature(other, VECTOR_ID, VECTOR_TS, b"else")
    headers = vector_headers(f"v1a,abcd {wrong} {VECTOR_SIGNATURE}")
    assert verify([other, key], headers, VECTOR_BODY, now=VECTOR_TS).signer == 1


@pytest.mark.parametrize(
    ("headers", "refusal"),
    [
        ({}, MissingHeaders),
        ({"webhook-id": VECTOR_ID, "webhook-timestamp": str(VECTOR_TS)}, MissingHeaders),
        (vector_headers() | {"webhook-id": "a.b"}, MalformedHeaders),
        (vector_headers(ts=VECTOR_TS) | {"webhook-timestamp": "1614265330.5"}, MalformedHeaders),
        (vector_headers("v1g0hM9SsE"), MalformedHeaders),
        (vector_headers("v1,not*base64"), MalformedHeaders),
        (vector_headers("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), NoMatchingSignature),
        (vector_headers("v1," + base64.b64encode(b"x" * 32).decode()), NoMatchingSignature),
    ],
)
def test_refusals(headers: dict[str, str], refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        verify([parse_secret(VECTOR_SECRET)], headers, VECTOR_BODY, now=VECTOR_TS)


def test_a_changed_body_or_id_does_not_verify() -> None:
    key = parse_secret(VECTOR_SECRET)
    with pytest.raises(NoMatchingSignature):
        verify([key], vector_headers(), b'{"test": 2432232315}', now=VECTOR_TS)
    with pytest.raises(NoMatchingSignature):
        verify([key], vector_headers() | {"webhook-id": "msg_other"}, VECTOR_BODY, now=VECTOR_TS)


def test_secrets_are_whsec_base64_of_24_to_64_bytes() -> None:
    assert parse_secret(format_secret(b"k" * 24)) == b"k" * 24
    for bad in ("whsec_" + base64.b64encode(b"k" * 23).decode(), "whsec_***", ""):
        with pytest.raises(SecretError) as refused:
            parse_secret(bad)
        assert "***" not in str(refused.value)
