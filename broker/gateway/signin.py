"""Who is calling the gateway's API, from the Authorization header and the client's address.

People sign in with HTTP Basic (name and password, scrypt), or with the inbox pages' form
(`password`, then a session cookie: broker.people.sessions); systems present
`Bearer <token>` (broker.people.tokens). The decision uses the header alone, so the HTTP
layer makes it before reading any of the request body (broker.gateway.auth_middleware).
The form's password goes through the same throttle, checks and sign-in log as Basic's.

- A header that is missing, repeated, not ASCII, too long or malformed is refused (401).
- Password sign-ins are throttled per name and per address (broker.people.throttle): a
  name or address that must wait is answered 429 with the seconds left, its password not
  checked. At most `concurrent_checks` scrypt checks run at once, and the throttle is asked
  again once a check's turn comes, so a burst sent in parallel cannot outrun it.
- HTTP Basic sends the password with every request and scrypt costs a large fraction of a
  second of CPU, so credentials that passed are remembered for `remember_s` seconds,
  per client address, as an HMAC under a key that lives only in this process. A sign-in is
  therefore one check, and one entry in the sign-in log, per credentials, address and
  `remember_s`; every failure is one entry too.
- Tokens carry 256 random bits: they are not throttled, and a wrong one is logged as a
  line (address only), not written to the sign-in log, so a flood of them writes nothing.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from broker.gateway.records import SignInMethod, SignInOutcome, SignInRecord
from broker.gateway.users import PEOPLE, GatewayUser
from broker.logs import get_logger
from broker.people.names import is_user_name
from broker.people.passwords import PasswordCheck
from broker.people.throttle import SignInThrottle
from broker.people.tokens import TokenIndex

log = get_logger(__name__)

MAX_AUTHORIZATION = 4096  # bytes of the Authorization header; far above any valid one


@dataclass(frozen=True)
class Refused:
    """No user: answer `status` (401, or 429 with `retry_after_s`)."""

    status: int
    detail: str
    retry_after_s: int | None = None


NO_CREDENTIALS = Refused(401, "sign in: HTTP Basic (people) or a Bearer token (systems)")
_MALFORMED = Refused(401, "malformed Authorization header")
_WRONG_PASSWORD = Refused(401, "wrong name or password")
_WRONG_TOKEN = Refused(401, "unknown token")

Recorder = Callable[[SignInRecord], Awaitable[None]]


class SignIn:
    """Turns an Authorization header into a user, or a refusal; records sign-ins.

    `record` commits one entry to the sign-in log (GatewayStore.record_sign_in); when it
    raises, the caller gets the error and must refuse the request: no sign-in without its
    record.
    """

    def __init__(
        self,
        users: Mapping[str, GatewayUser],
        record: Recorder,
        *,
        throttle: SignInThrottle | None = None,
        clock: Callable[[], float] = time.time,
        remember_s: float = 300.0,
        max_remembered: int = 10_000,
        concurrent_checks: int = 2,
    ) -> None:
        self._users = users
        self._record = record
        self._throttle = throttle or SignInThrottle()
        self._clock = clock
        self._tokens = TokenIndex(
            (user.token_hash, user) for user in users.values() if user.token_hash is not None
        )
        sample = next((u.password_hash for u in users.values() if u.password_hash), None)
        self._passwords = PasswordCheck(sample)
        self._checks = asyncio.Semaphore(concurrent_checks)
        self._remembered = _Remembered(remember_s, max_remembered)

    async def authenticate(
        self, authorization: Sequence[bytes], address: str
    ) -> GatewayUser | Refused:
        """The user the header's credentials belong to, or why not; `address` is the client's."""
        if not authorization:
            return NO_CREDENTIALS
        if len(authorization) > 1 or len(authorization[0]) > MAX_AUTHORIZATION:
            return _MALFORMED
        try:
            header = authorization[0].decode("ascii")
        except UnicodeDecodeError:
            return _MALFORMED
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        remembered = self._remembered.get(header, address, self._clock())
        if remembered is not None:
            return remembered
        scheme = scheme.lower()
        if scheme == "bearer":
            verdict = await self._token(credentials, address)
        elif scheme == "basic":
            verdict = await self._password(credentials, address)
        else:
            return NO_CREDENTIALS
        if isinstance(verdict, GatewayUser):
            self._remembered.put(header, address, verdict, self._clock())
        return verdict

    async def _token(self, token: str, address: str) -> GatewayUser | Refused:
        user = self._tokens.owner(token)
        if user is None:
            log.warning("sign-in failed", method=SignInMethod.TOKEN.value, client=address)
            return _WRONG_TOKEN
        await self._succeeded(user, SignInMethod.TOKEN, address)
        return user

    async def _password(self, credentials: str, address: str) -> GatewayUser | Refused:
        parsed = _basic(credentials)
        if parsed is None:
            return _MALFORMED
        name, password = parsed
        return await self.password(name, password, address, SignInMethod.PASSWORD)

    async def password(
        self, name: str, password: str, address: str, method: SignInMethod
    ) -> GatewayUser | Refused:
        """The person `name` when `password` is theirs, or why not (401, 429): throttled,
        checked and recorded in the sign-in log under `method` (HTTP Basic, the form)."""
        throttled = self._throttled(name, address)
        if throttled is not None:
            return throttled
        async with self._checks:
            # Asked again: failures may have been counted while this one queued.
            throttled = self._throttled(name, address)
            if throttled is not None:
                return throttled
            user = self._users.get(name)
            person = user if user is not None and user.role in PEOPLE else None
            stored = person.password_hash if person is not None else None
            # A malformed name cannot exist: no decoy check is needed to hide that.
            matched = is_user_name(name) and await self._passwords.matches(password, stored)
            if not (matched and person is not None):
                self._throttle.failed(name, address, self._clock())
        if matched and person is not None:
            self._throttle.succeeded(name)
            await self._succeeded(person, method, address)
            return person
        known = name if user is not None else None
        await self._record(
            SignInRecord(self._clock(), address, method, SignInOutcome.FAILED, known)
        )
        log.warning("sign-in failed", method=method.value, client=address)
        return _WRONG_PASSWORD

    def _throttled(self, name: str, address: str) -> Refused | None:
        wait = self._throttle.wait(name, address, self._clock())
        if wait <= 0:
            return None
        retry_after = max(1, math.ceil(wait))
        log.warning("sign-in throttled", client=address, retry_after_s=retry_after)
        return Refused(429, "too many failed sign-ins: wait", retry_after)

    async def _succeeded(self, user: GatewayUser, method: SignInMethod, address: str) -> None:
        record = SignInRecord(self._clock(), address, method, SignInOutcome.SUCCEEDED, user.name)
        await self._record(record)
        log.info("signed in", user=user.name, method=method.value, client=address)


def _basic(credentials: str) -> tuple[str, str] | None:
    """(name, password) of HTTP Basic credentials (UTF-8, RFC 7617), or None when malformed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, colon, password = decoded.partition(":")
    return (name, password) if colon and name else None


class _Remembered:
    """Credentials that passed, by an HMAC of (address, header) under a per-process key."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self._ttl_s, self._max = ttl_s, max_entries
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[GatewayUser, float]] = OrderedDict()

    def _digest(self, header: str, address: str) -> bytes:
        message = f"{address}\n{header}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def get(self, header: str, address: str, now: float) -> GatewayUser | None:
        digest = self._digest(header, address)
        entry = self._entries.get(digest)
        if entry is None:
            return None
        user, expires = entry
        if now >= expires:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return user

    def put(self, header: str, address: str, user: GatewayUser, now: float) -> None:
        self._entries[self._digest(header, address)] = (user, now + self._ttl_s)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
