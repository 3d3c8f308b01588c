"""Server-side sessions for people signed in by a form: a record per sign-in in the app's
store, named by a signed cookie. Shared by the coordinators' dashboard and the gateway's
inbox pages, each over its own store (`SessionStore`).

The cookie is `b64url(id|expires).b64url(mac)` (HMAC-SHA256): the MAC turns forged and
expired cookies away without a database read, and the store decides the rest. The store
keeps the SHA-256 of the 256-bit random id, never the id, so a copy of the database signs
nobody in. Logging out revokes the record: a copied cookie stops working with the original.
The record also keeps a fingerprint (a MAC) of what the users file says of the user at
sign-in (`held`: their password hash and what else the app names); a changed password ends
every session the user had, on its next use.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from broker.errors import CaselinkError
from broker.people.tokens import token_hash

MIN_SECRET_BYTES = 32
_ID_BYTES = 32
MAX_COOKIE_CHARS = 512  # far above a cookie we sign (about 110 characters)


class SessionSecretError(CaselinkError, ValueError):
    """The session secret is too short to sign cookies safely."""

    reason = "weak_session_secret"


@dataclass(frozen=True)
class SessionRecord:
    """One session, as kept by the store.

    `session_hash` is `broker.people.tokens.token_hash` of the random id the cookie carries;
    `fingerprint` is a MAC of what the users file said of the user at sign-in.
    """

    session_hash: str
    user: str
    fingerprint: str
    created_at: float
    expires_at: float
    revoked_at: float | None = None


class SessionStore(Protocol):
    """Where sessions are kept (times are float Unix seconds)."""

    async def add_session(self, record: SessionRecord) -> None:
        """Keep a new session (its hash is new: 256 random bits)."""

    async def session(self, session_hash: str) -> SessionRecord | None:
        """The session with this hash; None when unknown or forgotten."""

    async def revoke_session(self, session_hash: str, at: float) -> None:
        """Mark the session revoked at `at` (the first revocation's time is kept)."""

    async def forget_sessions(self, expired_before: float) -> None:
        """Delete the sessions that expired before `expired_before`."""


class Named(Protocol):
    """A user of a users file: sessions know them by name."""

    @property
    def name(self) -> str: ...


U = TypeVar("U", bound=Named)


class SessionSigner:
    """Signs and checks session cookies with one secret; times are Unix seconds.

    `purpose` separates the keys of two apps: a cookie of one never passes the other's
    check, even should an operator give both the same secret.
    """

    def __init__(self, secret: bytes, *, purpose: str = "caselink-web") -> None:
        """Raises SessionSecretError when `secret` is shorter than 32 bytes."""
        if len(secret) < MIN_SECRET_BYTES:
            raise SessionSecretError(f"the session secret needs {MIN_SECRET_BYTES}+ bytes")
        # Separate keys for the cookie and the fingerprint: neither MAC can stand for the other.
        label = purpose.encode()
        self._token_key = hmac.digest(secret, label + b" session token", hashlib.sha256)
        self._print_key = hmac.digest(secret, label + b" password print", hashlib.sha256)

    def issue(self, session_id: str, expires: int) -> str:
        """The cookie value naming `session_id`, valid until `expires`."""
        payload = f"{session_id}|{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str, now: float) -> str | None:
        """The session id of a cookie we signed and that has not expired; None otherwise."""
        if len(token) > MAX_COOKIE_CHARS:
            return None
        encoded, _, mac = token.partition(".")
        try:
            payload, given = _unb64(encoded), _unb64(mac)
        except (ValueError, binascii.Error):
            return None
        if not hmac.compare_digest(self._mac(payload), given):
            return None
        try:
            session_id, expires = payload.decode().split("|")
            expired = int(expires) <= now
        except ValueError:
            return None  # unreachable for cookies we signed; kept so no input can raise
        return None if expired else session_id

    def fingerprint(self, held: str) -> str:
        """A MAC of `held`, what the users file says of a user: it changes with the password."""
        return hmac.digest(self._print_key, held.encode(), hashlib.sha256)[:12].hex()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.digest(self._token_key, payload, hashlib.sha256)


class Sessions(Generic[U]):
    """Starts, finds and ends sessions kept in `store`; each lasts `ttl_seconds` at most.

    `held` gives what the users file says of a user that, changed, ends their sessions:
    their password hash at least (a role or an agency too, where they widen what is seen).
    """

    def __init__(
        self,
        store: SessionStore,
        signer: SessionSigner,
        ttl_seconds: int,
        *,
        held: Callable[[U], str],
    ) -> None:
        self.store, self.signer, self.ttl_seconds, self._held = store, signer, ttl_seconds, held

    async def start(self, user: U, now: float) -> str:
        """Record a new session for `user`; returns the cookie value that names it.

        Sessions that expired before now are deleted here: sign-ins are rare, and the
        table then holds only live and recently revoked sessions.
        """
        session_id = secrets.token_urlsafe(_ID_BYTES)
        expires = int(now) + self.ttl_seconds
        await self.store.forget_sessions(now)
        await self.store.add_session(
            SessionRecord(
                session_hash=token_hash(session_id),
                user=user.name,
                fingerprint=self.signer.fingerprint(self._held(user)),
                created_at=now,
                expires_at=float(expires),
            )
        )
        return self.signer.issue(session_id, expires)

    async def user(self, token: str, users: Mapping[str, U], now: float) -> U | None:
        """The user of a live session named by `token`; None for anything else."""
        session_id = self.signer.read(token, now)
        if session_id is None:
            return None
        stored = token_hash(session_id)
        record = await self.store.session(stored)
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            return None
        user = users.get(record.user)
        if user is None or not hmac.compare_digest(
            record.fingerprint, self.signer.fingerprint(self._held(user))
        ):
            # Removed from the users file, or a new password: this session is over for good.
            await self.store.revoke_session(stored, now)
            return None
        return user

    async def end(self, token: str, now: float) -> None:
        """Revoke the session `token` names (nothing for a cookie we did not sign)."""
        session_id = self.signer.read(token, now)
        if session_id is not None:
            await self.store.revoke_session(token_hash(session_id), now)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if len(text) > MAX_COOKIE_CHARS:
        raise ValueError("token too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
