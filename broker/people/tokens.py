"""API tokens for systems: 32 random bytes, shown once, kept only as a SHA-256 hash.

A token has 256 bits of entropy, so a fast hash is enough to make a stolen users file
useless (no guessing can reverse it), and checking one costs a microsecond rather than
scrypt's tens of milliseconds on every request.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from typing import Generic, TypeVar

from broker.errors import CaselinkError

PREFIX = "clk_"
TOKEN_BYTES = 32
# token_urlsafe(32) gives 43 characters; the prefix tells a leaked token apart in a scanner.
_TOKEN = re.compile(r"clk_[A-Za-z0-9_-]{43}")
_HASH = re.compile(r"sha256\$[0-9a-f]{64}")

OwnerT = TypeVar("OwnerT")


class TokenHashError(CaselinkError, ValueError):
    """A stored token hash is not `sha256$<64 hex digits>`."""

    reason = "invalid_token_hash"


def new_token() -> str:
    """A fresh token: `clk_` and 32 random bytes, URL-safe base64."""
    return PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of `token`."""
    return "sha256$" + hashlib.sha256(token.encode("ascii")).hexdigest()


def check_token_hash(stored: str) -> str:
    """`stored` when well formed; raises TokenHashError otherwise."""
    if not _HASH.fullmatch(stored):
        raise TokenHashError("token_hash must look like sha256$<64 hex digits>")
    return stored


class TokenIndex(Generic[OwnerT]):
    """Who holds a presented token, among `(stored hash, owner)` pairs."""

    def __init__(self, entries: Iterable[tuple[str, OwnerT]]) -> None:
        self._entries = [(check_token_hash(stored).encode(), owner) for stored, owner in entries]

    def owner(self, presented: str) -> OwnerT | None:
        """The owner of `presented`, or None; malformed tokens are never hashed or compared."""
        if not _TOKEN.fullmatch(presented):
            return None
        digest = token_hash(presented).encode()
        found: OwnerT | None = None
        # Every entry is compared, in constant time each, so timing says nothing of which
        # stored hash came close.
        for stored, owner in self._entries:
            if hmac.compare_digest(stored, digest):
                found = owner
        return found
