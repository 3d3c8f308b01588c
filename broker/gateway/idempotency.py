"""Idempotency-Key of a submission: its form, the request's fingerprint, the refusals. Pure.

After the IETF httpapi draft "The Idempotency-Key HTTP Header Field": a client that retries
a submission with the same key and the same request gets the first answer again (the same
message and thread ids), and never a second message; the same key with another request is
422; a request whose key is still being worked on is 409. A key is honoured for
KEY_LIFETIME_S, then forgotten. Only a hash of the canonical request is kept, never the
request: it holds case data.
"""

import hashlib
import re

from pydantic import BaseModel

from broker.envelope import canonical_json
from broker.errors import CaselinkError
from schemas.kinds import MessageKind

KEY_LIFETIME_S = 86_400.0
MAX_KEY_LENGTH = 128
# Printable ASCII, spaces inside allowed (a quoted structured-field string is taken as is).
_KEY = re.compile(rf"[\x21-\x7e](?:[\x20-\x7e]{{0,{MAX_KEY_LENGTH - 2}}}[\x21-\x7e])?")


class IdempotencyKeyInvalid(CaselinkError):
    """The Idempotency-Key header is empty, too long, or not printable ASCII."""

    reason = "idempotency_key_invalid"


class IdempotencyKeyReused(CaselinkError):
    """The key was used, within its lifetime, for a different request."""

    reason = "idempotency_key_reused"


class IdempotencyKeyInFlight(CaselinkError):
    """A request with this key is still being worked on."""

    reason = "idempotency_key_in_flight"


def checked_key(value: str) -> str:
    """`value` as a key; raises IdempotencyKeyInvalid (the message never repeats it)."""
    if not _KEY.fullmatch(value):
        raise IdempotencyKeyInvalid(
            f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable ASCII characters"
        )
    return value


def request_hash(kind: MessageKind, request: BaseModel) -> str:
    """Hex SHA-256 of the canonical request: its kind and its validated fields as JSON.

    Validated, so that the same request written with other spacing or key order is the same.
    """
    canonical = canonical_json({"kind": kind.value, "request": request.model_dump(mode="json")})
    return hashlib.sha256(canonical).hexdigest()


def scoped_key(user: str, key: str) -> str:
    """The stored form of `user`'s `key`: two users' equal keys never meet, and a key that
    could carry case data is kept only as a hash."""
    return hashlib.sha256(f"{user}\x00{key}".encode()).hexdigest()
