"""Signed session tokens for the dashboard cookie: HMAC-SHA256, expiry, revoked by a new password.

A token is `b64url(name|expires|fingerprint).b64url(mac)`. The fingerprint is a MAC of the
user's stored password hash, so changing a password ends that user's sessions.
"""

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from broker.web.errors import SessionSecretError
from broker.web.users import User

MIN_SECRET_BYTES = 32


class SessionSigner:
    """Issues and checks session tokens with one secret; times are Unix seconds."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        """Raises SessionSecretError when `secret` is shorter than 32 bytes."""
        if len(secret) < MIN_SECRET_BYTES:
            raise SessionSecretError(f"the session secret needs {MIN_SECRET_BYTES}+ bytes")
        # Separate keys for the token and the fingerprint: neither MAC can stand for the other.
        self._token_key = hmac.digest(secret, b"caselink-web session token", hashlib.sha256)
        self._print_key = hmac.digest(secret, b"caselink-web password print", hashlib.sha256)
        self.ttl_seconds = ttl_seconds

    def issue(self, user: User, now: float) -> str:
        """A token for `user` valid until now + ttl."""
        expires = int(now) + self.ttl_seconds
        payload = f"{user.name}|{expires}|{self._fingerprint(user)}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str, users: Mapping[str, User], now: float) -> User | None:
        """The user a valid, unexpired token names; None for anything else."""
        encoded, _, mac = token.partition(".")
        try:
            payload, given = _unb64(encoded), _unb64(mac)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(self._mac(payload), given):
            return None
        try:
            name, expires, fingerprint = payload.decode().split("|")
            expired = int(expires) <= now
        except ValueError:
            return None  # unreachable for tokens we signed; kept so no input can raise
        user = users.get(name)
        if expired or user is None:
            return None
        return user if hmac.compare_digest(fingerprint, self._fingerprint(user)) else None

    def _mac(self, payload: bytes) -> bytes:
        return hmac.digest(self._token_key, payload, hashlib.sha256)

    def _fingerprint(self, user: User) -> str:
        stored = f"{user.role}|{user.agency}|{user.password_hash}".encode()
        return hmac.digest(self._print_key, stored, hashlib.sha256)[:12].hex()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if len(text) > 512:
        raise ValueError("token too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
