"""Standard Webhooks signatures (spec 1.0.0, symmetric `v1`): pure bytes in, verdicts out.

Signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`, MACed with HMAC-SHA256
under a secret of 24 to 64 random bytes written `whsec_` + base64. `webhook-signature` holds
space-separated `v1,<base64 MAC>` entries (several during a key rotation): any one matching
is enough, compared in constant time. The MAC is computed over the body's bytes as they
arrived, never over a parsed and re-encoded copy, and before anything parses them. The
`standardwebhooks` package signs what this adapter sends (callbacks.py); verification is
here because the package decodes the body as text first and reads the wall clock.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from broker.errors import CaselinkError

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the format's prefix, not a secret
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
TOLERANCE_S = 300
"""Spec gives no number; the reference libraries accept a timestamp within 5 minutes."""
MAX_SIGNATURES = 8  # entries in one header: a rotation has two or three
# Ids and timestamps are joined with `.`: neither may contain one. A webhook-id is also the
# key of a stored row and is repeated in answers, so it is kept to a short plain token.
_ID = re.compile(r"^[A-Za-z0-9_:\-]{1,128}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class SignatureRefused(CaselinkError):
    """A webhook's headers or signature do not verify; `reason` says which check failed."""

    reason = "bad_signature"


class MissingHeaders(SignatureRefused):
    reason = "missing_headers"


class MalformedHeaders(SignatureRefused):
    reason = "malformed_headers"


class StaleTimestamp(SignatureRefused):
    reason = "timestamp_out_of_window"


class NoMatchingSignature(SignatureRefused):
    reason = "no_matching_signature"


class SecretError(CaselinkError):
    """A webhook secret is not `whsec_` + base64 of 24 to 64 bytes."""

    reason = "bad_webhook_secret"


def parse_secret(text: str) -> bytes:
    """The key bytes of `whsec_<base64>`; raises SecretError (never quoting the secret)."""
    encoded = text.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SecretError("the secret is not whsec_ followed by standard base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SecretError(
            f"the secret must be {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, not {len(key)}"
        )
    return key


def format_secret(key: bytes) -> str:
    """`whsec_` + base64 of `key`, as the spec shows secrets."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def signature(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of `body` sent as `webhook_id` at `timestamp`."""
    signed = webhook_id.encode("ascii") + b"." + str(timestamp).encode("ascii") + b"." + body
    mac = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


@dataclass(frozen=True, slots=True)
class Verified:
    """Who signed (the index of the matching key) and what the headers said."""

    signer: int
    webhook_id: str
    timestamp: int


def verify(
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float,
    tolerance_s: int = TOLERANCE_S,
) -> Verified:
    """Which of `keys` signed `body` under these headers (lower-case names).

    Raises MissingHeaders, MalformedHeaders, StaleTimestamp (more than `tolerance_s` from
    `now`, either way) or NoMatchingSignature. Every key is tried against every entry, so the
    time taken does not tell which key came close.
    """
    webhook_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not (webhook_id and stamp and signatures):
        raise MissingHeaders("webhook-id, webhook-timestamp and webhook-signature are required")
    if not _ID.match(webhook_id) or not _TIMESTAMP.match(stamp):
        raise MalformedHeaders("webhook-id or webhook-timestamp is malformed")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        raise StaleTimestamp(f"webhook-timestamp is more than {tolerance_s} s from now")
    offered = _offered(signatures)
    matched = -1
    for index, key in enumerate(keys):
        expected = base64.b64decode(signature(key, webhook_id, timestamp, body)[3:])
        for mac in offered:
            if hmac.compare_digest(expected, mac) and matched < 0:
                matched = index
    if matched < 0:
        raise NoMatchingSignature("no signature matches")
    return Verified(signer=matched, webhook_id=webhook_id, timestamp=timestamp)


def _offered(header: str) -> list[bytes]:
    """The v1 MACs in a `webhook-signature` header; other versions are skipped (spec)."""
    entries = header.split()
    if len(entries) > MAX_SIGNATURES:
        raise MalformedHeaders(f"more than {MAX_SIGNATURES} signatures")
    macs = []
    for entry in entries:
        version, comma, value = entry.partition(",")
        if not comma:
            raise MalformedHeaders("a signature is not version,value")
        if version != "v1":
            continue
        try:
            macs.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            raise MalformedHeaders("a v1 signature is not base64") from None
    return macs
