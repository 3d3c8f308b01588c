"""Who used the dashboard: sessions, sign-ins and views, and the store port that keeps them.

Plain values and a Protocol; the tracker's stores implement it beside `TrackerStore`. They
hold names, addresses, ids, categories and times only: never a password, never a session id
(only its hash), never anything of a case.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from broker.people.sessions import SessionStore

__all__ = [
    "ADDRESS_CHARS",
    "FILTER_CHARS",
    "NAME_CHARS",
    "AccessStore",
    "SignInMethod",
    "SignInOutcome",
    "SignInRecord",
    "ViewRecord",
]

NAME_CHARS = 64
"""A name as typed at sign-in is kept to this many characters (a user's name is at most 64)."""
ADDRESS_CHARS = 64
"""An address is kept to this many characters (an IPv6 address is at most 45)."""
FILTER_CHARS = 255
"""A view's filter is kept to this many characters (its ids and categories fit well within)."""


class SignInOutcome(StrEnum):
    """What a checked sign-in came to."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class SignInMethod(StrEnum):
    """How the name and password came: the login form or an HTTP Basic header."""

    FORM = "form"
    BASIC = "basic"


@dataclass(frozen=True)
class SignInRecord:
    """One checked sign-in: the name as typed (bounded), the client's address, the outcome."""

    name: str
    address: str
    at: float
    outcome: SignInOutcome
    method: SignInMethod


@dataclass(frozen=True)
class ViewRecord:
    """One showing of thread data: who, when, which view, and which thread or filter.

    `view` is `<surface>:<subject>` ("page:unanswered", "export:agencies", "api:thread");
    `filter` is a URL query of ids and categories ("" for none); `thread_id` is set for a
    single thread's views, None for lists and figures.
    """

    user: str
    at: float
    view: str
    thread_id: str | None = None
    filter: str = ""


class AccessStore(SessionStore, Protocol):
    """Sessions (`broker.people.sessions`), the sign-in log and the view records (times are
    float Unix seconds)."""

    async def record_sign_in(self, record: SignInRecord) -> None:
        """Append to the sign-in log."""

    async def sign_ins(self, *, limit: int, offset: int = 0) -> list[SignInRecord]:
        """One page of the sign-in log, newest first."""

    async def record_view(self, record: ViewRecord) -> None:
        """Append to the view records."""

    async def views(self, thread_id: str) -> list[tuple[str, float]]:
        """Who was shown this one thread: (user, at), oldest first."""

    async def view_log(self, *, limit: int, offset: int = 0) -> list[ViewRecord]:
        """One page of every view record, newest first."""
