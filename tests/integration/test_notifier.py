"""The notifier on the real RabbitMQ, sending to a real SMTP server (aiosmtpd on 127.0.0.1):
the right people get the right email, nothing but ids is in any, a restart does not send
twice, an SMTP outage delays but loses nothing and dead-letters nothing."""

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from aiosmtpd.controller import Controller

from broker.app.notifier import NotifierApp
from broker.mail.smtp import SmtpMailer
from broker.notifier.config import NotifierSettings
from broker.notifier.emails import Email
from broker.topology.names import (
    ALERT_CONTENT_TYPE,
    ALERTS_EXCHANGE,
    DEAD_LETTER_QUEUE,
    NOTIFIER_QUEUE,
    alert_routing_key,
)
from schemas.alert import Alert, AlertLevel, AlertReason, dead_letters_near_full_alert
from schemas.kinds import MessageKind
from tests.integration.amqp_helpers import connect
from tests.integration.gateway_harness import free_port
from tests.integration.rabbit_federation import Federation, applied_federation
from tests.waiting import eventually

pytestmark = pytest.mark.rabbitmq

SENDER, RECIPIENT, COORDINATION = "police-west", "social-east", "region-coordination"
AGENCIES = {
    SENDER: {"duty": ["duty@police.test"], "supervisors": ["chief@police.test"]},
    RECIPIENT: {"duty": ["duty@social.test"], "supervisors": ["lead@social.test"]},
    COORDINATION: {"coordinators": ["coord@region.test"]},
}
# A child's name, planted where a careless notifier might pick it up: an AMQP header of a
# valid alert, and an extra field of an alert that is therefore not one.
PLANTED = "Astrid Marie Halvorsen"


@dataclass
class Inbox:
    """What the SMTP server accepted: envelope recipients and the raw message."""

    received: list[tuple[tuple[str, ...], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((tuple(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def by_alert(self) -> dict[str, list[tuple[tuple[str, ...], EmailMessage]]]:
        found: dict[str, list[tuple[tuple[str, ...], EmailMessage]]] = {}
        for to, raw in self.received:
            message = message_from_bytes(raw, policy=policy.default)
            assert isinstance(message, EmailMessage)
            found.setdefault(str(message["X-Caselink-Alert"]), []).append((to, message))
        return found


@contextmanager
def smtp_server(inbox: Inbox, port: int) -> Iterator[None]:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield
    finally:
        controller.stop()


def settings(fed: Federation, store: Path, smtp_port: int, **extra: Any) -> NotifierSettings:
    return NotifierSettings.model_validate(
        {
            "amqp_url": fed.notifier_url(),
            "store_url": f"sqlite+aiosqlite:///{store}",
            "dashboard_url": "https://dash.test",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "from": "caselink@dash.test"},
            "agencies": AGENCIES,
            "user_prefix": fed.topology.user_prefix,
            "retry_max_s": 0.2,
        }
        | extra
    )


class CountingMailer(SmtpMailer):
    attempts = 0

    async def send(self, email: Email) -> None:
        self.attempts += 1
        await super().send(email)


@asynccontextmanager
async def running(
    config: NotifierSettings, mailer: SmtpMailer | None = None
) -> AsyncIterator[None]:
    app = NotifierApp(config, mailer=mailer)
    await app.start()
    try:
        yield
    finally:
        await app.stop()


def overdue(level: AlertLevel, agency: str, alert_id: str | None = None) -> Alert:
    return Alert(
        alert_id=alert_id or str(uuid.uuid4()),
        level=level,
        reason=AlertReason.RESPONSE_OVERDUE,
        agency=agency,
        thread_id=str(uuid.uuid4()),
        message_id=str(uuid.uuid4()),
        kind=MessageKind.REFERRAL,
        sender=SENDER,
        recipient=RECIPIENT,
        raised_at=1_700_000_000,
        deadline=1_699_990_000,
        overdue_seconds=10_000,
    )


def about(alert: Alert, level: AlertLevel, reason: AlertReason, agency: str) -> Alert:
    return alert.model_copy(
        update={"alert_id": str(uuid.uuid4()), "level": level, "reason": reason, "agency": agency}
    )


async def publish(
    url: str, user_id: str, bodies: list[tuple[str, bytes]], headers: dict[str, Any] | None = None
) -> None:
    """Publish each (routing key, body) on the alerts exchange as `user_id`, confirmed."""
    async with await connect(url) as connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(ALERTS_EXCHANGE, ensure=False)
        for key, body in bodies:
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type=ALERT_CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    user_id=user_id,
                    headers=headers or {},
                ),
                routing_key=key,
            )


def wire(alert: Alert) -> tuple[str, bytes]:
    return alert_routing_key(alert.level, alert.agency), alert.model_dump_json(
        exclude_none=True
    ).encode()


async def as_tracker(fed: Federation, alerts: list[Alert]) -> None:
    await publish(
        fed.tracker_url(),
        fed.topology.tracker_user(),
        [wire(alert) for alert in alerts],
        headers={"x-case-name": PLANTED},
    )


async def depth(fed: Federation, queue: str) -> int:
    async with await connect(fed.admin_url()) as connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        count = declared.declaration_result.message_count
        assert count is not None
        return count


async def test_the_right_people_ids_only_and_once_across_a_restart(tmp_path: Path) -> None:
    inbox, port = Inbox(), free_port()
    with (
        applied_federation(tmp_path / "secrets.json", [SENDER, RECIPIENT]) as fed,
        smtp_server(inbox, port),
    ):
        config = settings(fed, tmp_path / "notifier" / "sent.db", port)
        reminder = overdue(AlertLevel.REMINDER, RECIPIENT)
        escalation = overdue(AlertLevel.ESCALATION, COORDINATION)
        declined = about(
            reminder, AlertLevel.DECLINED, AlertReason.DECLINED_EMERGENCY, SENDER
        ).model_copy(update={"deadline": None, "overdue_seconds": None})
        shared = about(
            declined, AlertLevel.FLAGGED, AlertReason.SHARED_WITHOUT_CONSENT, COORDINATION
        ).model_copy(update={"detail": "vital_interest"})
        capacity = dead_letters_near_full_alert(
            alert_id=str(uuid.uuid4()), agency=COORDINATION, raised_at=1, depth=8, bound=10
        )
        to_sender = about(escalation, AlertLevel.ESCALATION, escalation.reason, SENDER)
        to_recipient = about(escalation, AlertLevel.ESCALATION, escalation.reason, RECIPIENT)
        expected = {
            reminder.alert_id: ("duty@social.test",),
            escalation.alert_id: ("coord@region.test",),
            to_sender.alert_id: ("chief@police.test",),
            to_recipient.alert_id: ("lead@social.test",),
            declined.alert_id: ("chief@police.test", "duty@police.test"),
            shared.alert_id: ("coord@region.test",),
            capacity.alert_id: ("coord@region.test",),
        }
        emailed = [reminder, escalation, to_sender, to_recipient, declined, shared, capacity]
        # Not emailed: the coordinators' copy of a reminder, and an escalation an agency
        # forged about itself (RabbitMQ lets it publish alerts naming itself, as itself).
        silent = overdue(AlertLevel.REMINDER, COORDINATION)
        forged = overdue(AlertLevel.ESCALATION, SENDER)
        not_an_alert = reminder.model_dump(mode="json") | {"child_name": PLANTED}

        async with running(config):
            await as_tracker(fed, [*emailed, silent])
            await publish(fed.url(SENDER), fed.user(SENDER), [wire(forged)])
            await publish(
                fed.tracker_url(),
                fed.topology.tracker_user(),
                [
                    ("alert.reminder.social-east", json.dumps(not_an_alert).encode()),
                    ("alert.reminder.social-east", b"{not json"),
                ],
            )

            async def all_settled() -> bool:
                return (
                    len(inbox.received) >= len(emailed) and await depth(fed, DEAD_LETTER_QUEUE) == 2
                )

            await eventually(all_settled, "every email sent and the bad alert dead-lettered")
            await eventually(lambda: _drained(fed), "the notifier queue drained")

        # Restart: the tracker republishes the same alerts (as after its own crash).
        async with running(config):
            marker = overdue(AlertLevel.REMINDER, RECIPIENT)
            await as_tracker(fed, [*emailed, marker])
            await eventually(
                lambda: _has(inbox, marker.alert_id), "the marker after the republished alerts"
            )
            await eventually(lambda: _drained(fed), "the notifier queue drained again")

    found = inbox.by_alert()
    assert set(found) == {*expected, marker.alert_id}
    for alert_id, emails in found.items():
        assert len(emails) == 1, f"alert {alert_id} emailed {len(emails)} times"
    for alert_id, addresses in expected.items():
        [(to, message)] = found[alert_id]
        assert to == addresses
        assert message["From"] == "caselink@dash.test"
        assert alert_id in message.get_content()
    [(_, reminder_email)] = found[reminder.alert_id]
    assert reminder_email["Subject"] == ("[Caselink] Reminder: response overdue (referral)")
    assert f"https://dash.test/threads/{reminder.thread_id}" in reminder_email.get_content()
    for _, raw in inbox.received:
        assert PLANTED.encode() not in raw
        assert PLANTED not in message_from_bytes(raw, policy=policy.default).as_string()
    assert (tmp_path / "notifier").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "notifier" / "sent.db").stat().st_mode & 0o777 == 0o600


async def _has(inbox: Inbox, alert_id: str) -> bool:
    return alert_id in inbox.by_alert()


async def _drained(fed: Federation) -> bool:
    return await depth(fed, NOTIFIER_QUEUE) == 0


async def test_an_smtp_outage_delays_but_loses_and_dead_letters_nothing(tmp_path: Path) -> None:
    inbox, port = Inbox(), free_port()
    with applied_federation(tmp_path / "secrets.json", [SENDER, RECIPIENT]) as fed:
        # hold_s below the backoff: each alert goes back to the queue over and over.
        config = settings(fed, tmp_path / "notifier" / "sent.db", port, hold_s=0.3)
        mailer = CountingMailer(config.smtp)
        alerts = [overdue(AlertLevel.REMINDER, RECIPIENT) for _ in range(3)]
        async with running(config, mailer):
            await as_tracker(fed, alerts)

            async def retried() -> bool:
                # Well past the delivery limit the other queues have (5), for every alert.
                return mailer.attempts >= 8 * len(alerts)

            await eventually(retried, "the notifier retrying while SMTP is down")
            assert inbox.received == []
            # A restart in the outage: what it held goes back, and is read again.
        async with running(config, mailer):
            attempts = mailer.attempts
            await eventually(
                lambda: _more(mailer, attempts + 3), "retries after a restart in the outage"
            )
            with smtp_server(inbox, port):
                await eventually(
                    lambda: _count(inbox, len(alerts)), "every alert emailed once SMTP is back"
                )
                await eventually(lambda: _drained(fed), "the notifier queue drained")
        assert await depth(fed, DEAD_LETTER_QUEUE) == 0
    assert sorted(inbox.by_alert()) == sorted(alert.alert_id for alert in alerts)
    assert all(to == ("duty@social.test",) for to, _ in inbox.received)


async def _more(mailer: CountingMailer, at_least: int) -> bool:
    return mailer.attempts >= at_least


async def _count(inbox: Inbox, count: int) -> bool:
    return len(inbox.received) >= count
