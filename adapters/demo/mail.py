"""The demo's mail catcher: a real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what the
notifier sends, so the demo can check who was emailed and show the emails at the end.
Nothing leaves this machine."""

from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Caught:
    """One email as the server took it: envelope recipients, headers, raw bytes."""

    to: tuple[str, ...]
    subject: str
    alert_id: str  # the alert's id, or "" for a new referral or transfer
    raw: bytes
    message_id: str = ""  # a new referral's or transfer's message id, or ""


@dataclass
class MailCatcher:
    """Runs the SMTP server in its own thread between `start` and `stop`."""

    port: int
    caught: list[Caught] = field(default_factory=list)
    _controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        subject = str(message["Subject"])
        alert, arrived = message["X-Caselink-Alert"], message["X-Caselink-Message"]
        self.caught.append(
            Caught(
                tuple(envelope.rcpt_tos),
                subject,
                str(alert or ""),
                raw,
                message_id=str(arrived or ""),
            )
        )
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
