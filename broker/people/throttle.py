"""Sign-in throttling: after repeated failures a name, and an address, must wait.

Counted per name (many addresses guessing one person's password) and per address (one
address guessing many names) separately; the longer wait of the two applies. The first
`free_failures` cost nothing, so a person who mistypes is not slowed; after that each
failure doubles the wait up to `max_delay_s`. Memory is bounded: the least recently seen
keys are forgotten first. Pure: the caller passes the time.
"""

from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Failures:
    count: int
    last: float


class SignInThrottle:
    """Tracks failed sign-ins; ask `wait` before checking a password."""

    def __init__(
        self,
        *,
        free_failures: int = 5,
        base_delay_s: float = 1.0,
        max_delay_s: float = 900.0,
        forget_after_s: float = 3600.0,
        max_keys: int = 100_000,
    ) -> None:
        self.free_failures, self.base_delay_s, self.max_delay_s = (
            free_failures,
            base_delay_s,
            max_delay_s,
        )
        self.forget_after_s, self.max_keys = forget_after_s, max_keys
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()

    def wait(self, name: str, address: str, now: float) -> float:
        """Seconds before `name` may try again from `address`; 0 when it may try now."""
        return max(self._wait(("name", name), now), self._wait(("address", address), now))

    def failed(self, name: str, address: str, now: float) -> None:
        """Record a failed sign-in (unknown names count too: existence must not show)."""
        for key in (("name", name), ("address", address)):
            record = self._current(key, now)
            if record is None:
                self._failures[key] = _Failures(1, now)
            else:
                record.count, record.last = record.count + 1, now
                self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, name: str) -> None:
        """Forget the name's failures. The address's stay: a guesser holding one valid
        account must not reset its address's count by signing in with it."""
        self._failures.pop(("name", name), None)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        record = self._current(key, now)
        if record is None or record.count < self.free_failures:
            return 0.0
        excess = record.count - self.free_failures
        delay = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(excess, 32))
        return max(0.0, record.last + delay - now)

    def _current(self, key: tuple[str, str], now: float) -> _Failures | None:
        record = self._failures.get(key)
        if record is not None and now - record.last > self.forget_after_s:
            del self._failures[key]
            return None
        return record
