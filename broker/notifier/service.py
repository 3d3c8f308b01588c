"""One alert through the notifier: read it, decide, email it once, say how to settle it.

The order is what makes "one email per alert, never lost" hold across restarts:
1. an alert already in the sent log is acked without an email (a redelivery, a republish);
2. otherwise the email is handed to the SMTP server, retried with capped backoff while the
   server fails, and only once it accepted it is the alert id recorded, and then acked.
A crash after the SMTP server accepted an email and before its id is recorded sends that
email a second time when the alert comes back: at most twice, never not at all. Recording
first would turn that crash into a lost email.

While SMTP fails the alert stays unacked (RabbitMQ keeps it for us, and the rest of the
queue waits behind the prefetch window). After `hold_s` it is handed back to the queue to be
delivered again, so RabbitMQ's consumer timeout never closes the channel; the queue has no
delivery limit, so no outage, however long, dead-letters a valid alert. Only what cannot be
an alert at all, and an email the server refuses for good (5xx), is rejected: RabbitMQ
dead-letters it, and `caselink dlq` shows it and puts it back once the cause is fixed.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum

from pydantic import ValidationError

from broker.logs import RecurringFailure, get_logger
from broker.messaging.backoff import backoff_delay
from broker.notifier.config import Contacts
from broker.notifier.ports import Mailer, MailRefused, MailUnavailable, SentLog
from broker.notifier.rules import Email, compose
from schemas.alert import Alert

log = get_logger(__name__)


class Settle(StrEnum):
    ACK = "ack"  # emailed, or nothing to email
    REQUEUE = "requeue"  # SMTP still failing after hold_s: deliver it again later
    REJECT = "reject"  # not an alert, or refused for good: dead-lettered


class Notifier:
    """Decides and sends the email of each alert delivered; safe to call concurrently."""

    def __init__(
        self,
        *,
        sent: SentLog,
        mailer: Mailer,
        contacts: Mapping[str, Contacts],
        dashboard_url: str,
        tracker_user: str,
        retry_max_s: float = 60.0,
        hold_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sent = sent
        self._mailer = mailer
        self._contacts = contacts
        self._dashboard_url = dashboard_url
        self._tracker_user = tracker_user
        self._retry_max_s = retry_max_s
        self._hold_s = hold_s
        self._clock = clock
        self._sleep = sleep
        # Consecutive SMTP failures, across alerts: the backoff is the server's, not an alert's.
        self._failures = 0
        self._failing = RecurringFailure(log, "email sending")
        # Two deliveries of one alert at once (a republish beside a redelivery) send once.
        self._locks: dict[str, asyncio.Lock] = {}

    async def handle(self, body: bytes, user_id: str | None) -> Settle:
        """Email the alert in `body` once if it calls for one; how to settle its delivery.

        `user_id` is the AMQP user_id RabbitMQ checked: only the tracker's alerts are
        emailed, since an agency may publish alerts about itself. May raise what the sent
        log raises (the caller hands the alert back to the queue).
        """
        try:
            alert = Alert.model_validate_json(body)
        except ValidationError:
            log.warning("alert unreadable; rejected", count=len(body))
            return Settle.REJECT
        if user_id != self._tracker_user:
            log.info("alert not from the tracker; not emailed", alert_id=alert.alert_id)
            return Settle.ACK
        email = compose(alert, self._contacts, self._dashboard_url)
        if email is None:
            return Settle.ACK
        lock = self._locks.setdefault(alert.alert_id, asyncio.Lock())
        try:
            async with lock:
                return await self._once(alert, email)
        finally:
            if not lock.locked():
                self._locks.pop(alert.alert_id, None)

    async def _once(self, alert: Alert, email: Email) -> Settle:
        if await self._sent.was_sent(alert.alert_id):
            return Settle.ACK
        outcome = await self._send(email)
        if outcome is Settle.ACK:
            await self._sent.record_sent(alert.alert_id, time.time())
            log.info(
                "alert emailed",
                alert_id=alert.alert_id,
                agency=alert.agency,
                level_name=alert.level.value,
                count=len(email.to),
            )
        return outcome

    async def _send(self, email: Email) -> Settle:
        started = self._clock()
        while True:
            try:
                await self._mailer.send(email)
            except MailRefused as error:
                log.error(
                    "email refused by the mail server; alert dead-lettered",
                    alert_id=email.alert_id,
                    reason=error.reason,
                    code=error.code,
                )
                return Settle.REJECT
            except MailUnavailable as error:
                self._failures += 1
                self._failing.failed(
                    "email not sent; will retry",
                    reason=error.reason,
                    code=error.code,
                    alert_id=email.alert_id,
                )
                delay = backoff_delay(self._failures, cap_s=self._retry_max_s)
                if self._clock() - started + delay > self._hold_s:
                    return Settle.REQUEUE
                await self._sleep(delay)
                continue
            self._failures = 0
            self._failing.resolved()
            return Settle.ACK
