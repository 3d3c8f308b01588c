"""Sends the notifier's emails over SMTP with aiosmtplib, one connection per email.

Alerts are few, and a connection per email has no state to lose when the server restarts.
aiosmtplib's errors are sorted into the two the notifier acts on: worth retrying
(MailUnavailable: no connection, a timeout, a 4xx answer) and refused for good (MailRefused:
a 5xx answer, or every recipient refused with one). The error text the server sent back is
not repeated: it may quote an address.
"""

from email import policy
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from broker.logs import get_logger
from broker.notifier.config import SmtpSettings
from broker.notifier.emails import Email
from broker.notifier.ports import MailRefused, MailUnavailable

log = get_logger(__name__)

PERMANENT = 500
# CRLF line ends; headers folded only past SMTP's own line limit, so a subject never
# starts with the blank that folding before its first word would leave.
MESSAGE_POLICY = policy.SMTP.clone(max_line_length=998)


def message_of(email: Email, sender: str) -> EmailMessage:
    """The RFC 5322 message of `email`, plain text (UTF-8). The alert id, or an arrival's
    message id, is its Message-ID's left part and an `X-Caselink-Alert` (or
    `X-Caselink-Message`) header, so a mail log shows what it was about."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    message["Subject"] = email.subject
    about = email.alert_id or email.message_id
    message["Message-ID"] = make_msgid(idstring=about, domain="caselink.invalid")
    if email.alert_id is not None:
        message["X-Caselink-Alert"] = email.alert_id
    if email.message_id is not None:
        message["X-Caselink-Message"] = email.message_id
    message.set_content(email.text)
    return message


class SmtpMailer:
    """`Mailer` on an SMTP relay."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, email: Email) -> None:
        """Raises MailUnavailable or MailRefused (see the module docstring)."""
        s = self._settings
        try:
            refused, _ = await aiosmtplib.send(
                message_of(email, s.sender),
                hostname=s.host,
                port=s.port,
                timeout=s.timeout_s,
                start_tls=s.starttls,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            codes = [refusal.code for refusal in error.recipients]
            if codes and all(code >= PERMANENT for code in codes):
                raise MailRefused("every recipient refused", code=min(codes)) from error
            raise MailUnavailable(
                "recipients refused for now", code=min(codes, default=None)
            ) from error
        except aiosmtplib.SMTPResponseException as error:
            if error.code >= PERMANENT:
                raise MailRefused("the mail server refused the email", code=error.code) from error
            raise MailUnavailable("the mail server refused for now", code=error.code) from error
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise MailUnavailable(f"no mail server: {type(error).__name__}") from error
        if refused:
            # Accepted for some: sent. The others would be refused again by a retry.
            log.warning(
                "some recipients refused",
                alert_id=email.alert_id,
                message_id=email.message_id,
                count=len(refused),
            )
