"""Dashboard sessions: a record in the tracker store per sign-in, named by a signed cookie.

The cookie is `b64url(id|expires).b64url(mac)` (HMAC-SHA256): the MAC turns forged and
expired cookies away without a database read, and the store decides the rest. The store
keeps the SHA-256 of the 256-bit random id, never the id, so a copy of the database signs
nobody in. Logging out revokes the record: a copied cookie stops working with the original.
The record also keeps a fingerprint (a MAC) of the user's role, agency and password hash
at sign-in; a changed password (or role, or agency) in the users file ends every session
the user had, on its next use.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from broker.people.tokens import token_hash
from broker.tracker.access import AccessStore, SessionRecord
from broker.web.errors import SessionSecretError
from broker.web.users import User

MIN_SECRET_BYTES = 32
_ID_BYTES = 32


class SessionSigner:
    """Signs and checks session cookies with one secret; times are Unix seconds."""

    def __init__(self, secret: bytes) -> None:
        """Raises SessionSecretError when `secret` is shorter than 32 bytes."""
        if len(secret) < MIN_SECRET_BYTES:
            raise SessionSecretError(f"the session secret needs {MIN_SECRET_BYTES}+ bytes")
        # Separate keys for the cookie and the fingerprint: neither MAC can stand for the other.
        self._token_key = hmac.digest(secret, b"caselink-web session token", hashlib.sha256)
        self._print_key = hmac.digest(secret, b"caselink-web password print", hashlib.sha256)

    def issue(self, session_id: str, expires: int) -> str:
        """The cookie value naming `session_id`, valid until `expires`."""
        payload = f"{session_id}|{expires}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def read(self, token: str, now: float) -> str | None:
        """The session id of a cookie we signed and that has not expired; None otherwise."""
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

    def fingerprint(self, user: User) -> str:
        """A MAC of what the users file says of `user`: it changes with the password."""
        stored = f"{user.role}|{user.agency}|{user.password_hash}".encode()
        return hmac.digest(self._print_key, stored, hashlib.sha256)[:12].hex()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.digest(self._token_key, payload, hashlib.sha256)


class Sessions:
    """Starts, finds and ends sessions kept in `store`; each lasts `ttl_seconds` at most."""

    def __init__(self, store: AccessStore, signer: SessionSigner, ttl_seconds: int) -> None:
        self.store, self.signer, self.ttl_seconds = store, signer, ttl_seconds

    async def start(self, user: User, now: float) -> str:
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
                fingerprint=self.signer.fingerprint(user),
                created_at=now,
                expires_at=float(expires),
            )
        )
        return self.signer.issue(session_id, expires)

    async def user(self, token: str, users: Mapping[str, User], now: float) -> User | None:
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
            record.fingerprint, self.signer.fingerprint(user)
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
    if len(text) > 512:
        raise ValueError("token too long")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
