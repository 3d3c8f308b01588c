"""One sign-in attempt, by the login form or HTTP Basic: throttle, password check, sign-in log.

The throttle (`broker.people.throttle`) is asked first, and a throttled attempt is refused
without checking its password, so a right guess is no faster to find. Attempts that share
a name or an address are checked one after another: otherwise a burst of parallel guesses
would all pass the throttle before the first failure was counted. Every checked attempt is
recorded in the sign-in log: the name as typed (printable characters, at most NAME_CHARS),
the client's address, the time, the outcome; never the password. Attempts the throttle
refuses are not recorded one by one, so a flood of them writes nothing; the failures that
led to the throttle are recorded.
"""

import asyncio
import math
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from broker.people.passwords import PasswordCheck
from broker.people.throttle import SignInThrottle
from broker.tracker.access import (
    ADDRESS_CHARS,
    NAME_CHARS,
    AccessStore,
    SignInMethod,
    SignInOutcome,
    SignInRecord,
)
from broker.web.users import User


@dataclass(frozen=True)
class Attempt:
    """What came of an attempt: the user signed in, or None; `retry_after` seconds > 0 when
    the throttle refused it (then no password was checked)."""

    user: User | None
    retry_after: int = 0


class SignIn:
    """Checks names and passwords against `users`, throttled and logged; `clock` gives Unix
    seconds."""

    def __init__(
        self,
        users: Mapping[str, User],
        store: AccessStore,
        throttle: SignInThrottle,
        clock: Callable[[], float],
    ) -> None:
        self.users, self.store, self.throttle, self.clock = users, store, throttle, clock
        sample = next(iter(users.values()), None)
        self._passwords = PasswordCheck(sample.password_hash if sample else None)
        self._turns = _Turns()

    async def attempt(
        self, name: str, password: str, address: str, method: SignInMethod
    ) -> Attempt:
        """Sign in `name` with `password` from `address`."""
        typed, where = as_typed(name), bounded(address)
        async with self._turns.taken(f"name:{typed}", f"address:{where}"):
            now = self.clock()
            wait = self.throttle.wait(typed, where, now)
            if wait > 0:
                return Attempt(None, retry_after=max(1, math.ceil(wait)))
            user = self.users.get(name)
            stored = user.password_hash if user is not None else None
            matched = await self._passwords.matches(password, stored)
            now = self.clock()
            if matched and user is not None:
                self.throttle.succeeded(typed)
                outcome = SignInOutcome.SUCCEEDED
            else:
                self.throttle.failed(typed, where, now)
                user, outcome = None, SignInOutcome.FAILED
            await self.store.record_sign_in(SignInRecord(typed, where, now, outcome, method))
            return Attempt(user)


def as_typed(name: str) -> str:
    """A name as typed, fit for the log: non-printable characters as '?', at most NAME_CHARS."""
    return "".join(c if c.isprintable() else "?" for c in name[:NAME_CHARS])


def bounded(address: str) -> str:
    """A client address, at most ADDRESS_CHARS characters."""
    return address[:ADDRESS_CHARS]


class _Turns:
    """Mutual exclusion per key: one lock per key while anyone holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def taken(self, *keys: str) -> AsyncIterator[None]:
        """Hold every key's lock, taken in the order given (every caller gives name first,
        then address, so no two wait for each other in a circle)."""
        async with AsyncExitStack() as stack:
            for key in keys:
                await stack.enter_async_context(self._one(key))
            yield

    @asynccontextmanager
    async def _one(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        lock, users = entry if entry is not None else (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            _, users = self._locks[key]
            if users == 1:
                del self._locks[key]  # memory stays bounded by the attempts in progress
            else:
                self._locks[key] = (lock, users - 1)
