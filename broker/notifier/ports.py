"""What the notifier needs from the outside: a mail server and a record of what it sent."""

from typing import Protocol

from broker.errors import CaselinkError
from broker.notifier.emails import Email


class MailError(CaselinkError):
    """Sending an email failed."""

    reason = "mail_error"

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class MailUnavailable(MailError):
    """The mail server is down, unreachable, slow, or answered a temporary (4xx) refusal."""

    reason = "mail_unavailable"


class MailRefused(MailError):
    """The mail server refused the email for good (5xx): retrying sends nothing."""

    reason = "mail_refused"


class Mailer(Protocol):
    async def send(self, email: Email) -> None:
        """Hand `email` to the mail server; returns once it accepted it for a recipient.

        Raises MailUnavailable (worth retrying) or MailRefused (not).
        """


class SentLog(Protocol):
    """The keys of the emails already sent (`Email.key`): one email per key, across restarts."""

    async def was_sent(self, key: str) -> bool: ...

    async def record_sent(self, key: str, at: float) -> None:
        """Record `key` as emailed; recording it again changes nothing."""
