"""What an operator may know of one dead letter, and which letters a command selects (pure).

Only two sources are trusted, and each for what it vouches:
- the envelope's signed clear header, once its signature verifies against the directory:
  the message id the letter is listed under, its thread, kind, sender and recipient;
- RabbitMQ itself: the `user_id` it checked when the message was first published, and the
  first entry of `x-death`, whose `queue` and `reason` RabbitMQ wrote when it dead-lettered
  the message (RabbitMQ 3.10 keeps a publisher's own x-death entries behind it, updates an
  entry with the same queue and reason in place, and never overwrites x-first-death-*
  headers, so nothing else in them is trusted).
The AMQP message_id is the publisher's choice and is never used. Header values are shown
escaped (`printable`), as the publisher may have put anything there.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from broker.envelope import (
    DEFAULT_MAX_SKEW_S,
    EnvelopeError,
    TrustedDirectory,
    decode_envelope,
    verify_header,
)
from broker.operator.printable import printable
from broker.topology.names import DEAD_LETTER_QUEUE

VALID = "valid"
UNCHECKED = "unchecked"  # no directory configured: nothing is verified
MAX_HEADERS_SHOWN = 32
SHA256_HEX = 64


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter as `caselink dlq` shows it: ids, categories, reasons and a digest."""

    message_id: str | None  # the envelope header's; trusted only when signature is VALID
    signature: str  # VALID, UNCHECKED, or why the header was refused (a reason slug)
    expired: bool | None  # past the header's expires_at: a gateway would refuse it now
    thread_id: str | None
    kind: str | None
    sender: str | None
    recipient: str | None
    queue: str | None  # where RabbitMQ dead-lettered it from: where a requeue puts it back
    reason: str  # RabbitMQ's: rejected (refused by a gateway), delivery_limit, ...
    published_by: str | None  # the AMQP user_id RabbitMQ checked at the original publish
    size: int
    sha256: str
    headers: dict[str, str]  # every AMQP header, name and value escaped

    @property
    def verified(self) -> bool:
        """Whether the header's signature verified, so its ids can be trusted."""
        return self.signature == VALID

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def death_of(headers: Mapping[str, Any]) -> tuple[str | None, str]:
    """(queue, reason) of RabbitMQ's latest dead-lettering, from the first x-death entry."""
    deaths = headers.get("x-death")
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], Mapping):
        return None, "not_dead_lettered"  # it never went through RabbitMQ's dead-lettering
    latest = deaths[0]
    queue, reason = latest.get("queue"), latest.get("reason")
    return (
        printable(queue) if isinstance(queue, str) else None,
        printable(reason) if isinstance(reason, str) else "unknown",
    )


def _shown_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    names = sorted(headers, key=str)[:MAX_HEADERS_SHOWN]
    return {printable(name, 64): printable(headers[name]) for name in names}


def describe(
    body: bytes,
    *,
    user_id: str | None,
    headers: Mapping[str, Any],
    directory: TrustedDirectory | None,
    now: int,
) -> DeadLetter:
    """Summarise one dead letter; verifies the header when a directory is given."""
    queue, reason = death_of(headers)
    ids: dict[str, str | None] = dict.fromkeys(
        ("message_id", "thread_id", "kind", "sender", "recipient")
    )
    expired: bool | None = None
    try:
        header = decode_envelope(body).header
    except EnvelopeError as error:
        signature = error.reason
    else:
        ids = {
            "message_id": header.message_id,
            "thread_id": header.thread_id,
            "kind": header.kind.value,
            "sender": header.sender,
            "recipient": header.recipient,
        }
        expired = now > header.expires_at + DEFAULT_MAX_SKEW_S
        signature = UNCHECKED if directory is None else _check(body, directory, header.issued_at)
    return DeadLetter(
        **ids,
        signature=signature,
        expired=expired,
        queue=queue,
        reason=reason,
        published_by=None if user_id is None else printable(user_id),
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        headers=_shown_headers(headers),
    )


def _check(body: bytes, directory: TrustedDirectory, issued_at: int) -> str:
    # As of its issue: was it signed by the sender's key in force then? Whether it has
    # expired since is `expired`, shown apart, since that alone calls for a resend.
    try:
        verify_header(body, directory=directory, now=issued_at)
    except EnvelopeError as error:
        return error.reason
    return VALID


def requeue_refusal(letter: DeadLetter) -> str | None:
    """Why `letter` cannot be requeued, or None when it can."""
    if letter.queue is None:
        return "no x-death record: RabbitMQ did not dead-letter it, so its queue is unknown"
    if letter.queue == DEAD_LETTER_QUEUE:
        return "it died in the dead-letter queue itself"
    return None


def is_digest(wanted: str) -> bool:
    """Whether `wanted` names a letter by its SHA-256 (64 hex digits) rather than its id."""
    return len(wanted) == SHA256_HEX and all(c in "0123456789abcdef" for c in wanted.lower())


def matches(letter: DeadLetter, wanted: str) -> bool:
    """A letter is named by its full SHA-256, or by its message id once its header verifies.

    An unverified header's message id is whatever its publisher wrote: it could name another
    message's id, so it selects nothing.
    """
    if is_digest(wanted):
        return letter.sha256 == wanted.lower()
    return letter.verified and letter.message_id == wanted


def select(
    letters: Iterable[DeadLetter], wanted: Sequence[str] | None
) -> tuple[list[DeadLetter], list[str]]:
    """The letters `wanted` names (every requeueable verified one when None), and the names
    that matched nothing."""
    letters = list(letters)
    if wanted is None:
        return [
            letter
            for letter in letters
            if letter.verified and not letter.expired and requeue_refusal(letter) is None
        ], []
    chosen = [letter for letter in letters if any(matches(letter, name) for name in wanted)]
    unmatched = [name for name in wanted if not any(matches(letter, name) for letter in letters)]
    return chosen, unmatched
