"""One alert or arrival event through the notifier: read it, decide, email it once, say
how to settle it.

Who may say what: an alert is emailed only when its AMQP `user_id` (which RabbitMQ checks
against the publishing connection) is the tracker's; an agency may publish alerts about
itself, and those are acked unemailed. A batch of arrival events (`schemas.arrival.Arrivals`)
is believed only from the RabbitMQ user of the agency that EVERY event in it names as
`recipient` (the gateway that stored the messages): one event naming another agency, or a
batch from any other publisher or none, and the whole batch is refused (rejected, so
RabbitMQ dead-letters it) and nothing in it is emailed.

Each alert or event makes one email per recipient language and time zone
(`broker/notifier/emails.py`), each with its own key in the sent log; a batch of events
makes those of each of its events, in its order. The order is what makes "one email per
key, never lost" hold across restarts:
1. an email whose key is in the sent log is not sent again (a redelivery, a republish);
2. otherwise it is handed to the SMTP server, retried with capped backoff while the server
   fails, and only once it accepted it is its key recorded; the delivery is acked once
   every email of it is sent.
So a delivery handed back part-sent (an SMTP outage in the middle of a batch) sends, when it
comes back, only the emails whose keys are not recorded yet.
A crash after the SMTP server accepted an email and before its key is recorded sends that
email a second time when the delivery comes back: at most twice, never not at all.
Recording first would turn that crash into a lost email.

While SMTP fails the delivery stays unacked (RabbitMQ keeps it for us, and the rest of the
queue waits behind the prefetch window). A delivery is held `hold_s` at most, all its emails
together (an outage, a slow server, a big batch): no email is begun, retried or waited for
past then, and the delivery goes back to the queue to be delivered again, the sent log
keeping what went. So it is held no longer than `hold_s` and one answer of the SMTP server
(`smtp.timeout_s`), under RabbitMQ's consumer timeout, which would close the channel. The
queue has no delivery limit, so no outage, however long, dead-letters a valid delivery.
Only what cannot be read, what no email can be written for, and an email the server refuses
for good (5xx), is rejected: RabbitMQ dead-letters it, and `caselink dlq` shows it and puts
it back once the cause is fixed. Neither an unwritable event nor a refused email holds back
the others of its delivery (another language group, another event of a batch): they are
sent first, and the put-back sends only what is left.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import ValidationError

from broker.logs import RecurringFailure, get_logger
from broker.messaging.backoff import backoff_delay
from broker.notifier.emails import Email, Writer
from broker.notifier.ports import Mailer, MailRefused, MailUnavailable, SentLog
from broker.topology.names import Topology
from schemas.alert import Alert
from schemas.arrival import Arrival, Arrivals

log = get_logger(__name__)


class Settle(StrEnum):
    ACK = "ack"  # emailed, or nothing to email
    REQUEUE = "requeue"  # hold_s passed, SMTP failing or slow: deliver it again later
    REJECT = "reject"  # unreadable, unwritable, foreign, or refused for good: dead-lettered


@dataclass(slots=True)
class _KeyLock:
    """The lock of one email's key, and how many deliveries use it (hold or wait for it)."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Notifier:
    """Decides and sends the emails of each alert and arrival delivered; safe to call
    concurrently."""

    def __init__(
        self,
        *,
        sent: SentLog,
        mailer: Mailer,
        writer: Writer,
        topology: Topology,
        retry_max_s: float = 60.0,
        hold_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sent = sent
        self._mailer = mailer
        self._writer = writer
        self._topology = topology
        self._retry_max_s = retry_max_s
        self._hold_s = hold_s
        self._clock = clock
        self._sleep = sleep
        # Consecutive SMTP failures, across alerts: the backoff is the server's, not an alert's.
        self._failures = 0
        self._failing = RecurringFailure(log, "email sending")
        # Two deliveries of one email at once (a republish beside a redelivery) send once.
        self._locks: dict[str, _KeyLock] = {}

    async def handle(self, body: bytes, user_id: str | None) -> Settle:
        """Email the alert in `body` once if it calls for one; how to settle its delivery.

        `user_id` is the AMQP user_id RabbitMQ checked: only the tracker's alerts are
        emailed, since an agency may publish alerts about itself. An alert that cannot be
        read or written is rejected (dead-lettered). Raises only what the sent log raises
        (the caller hands the alert back to the queue).
        """
        try:
            alert = Alert.model_validate_json(body)
        except ValidationError:
            log.warning("alert unreadable; rejected", count=len(body))
            return Settle.REJECT
        if user_id != self._topology.tracker_user():
            log.info("alert not from the tracker; not emailed", alert_id=alert.alert_id)
            return Settle.ACK
        try:
            emails = self._writer.alert_emails(alert)
        except Exception as error:  # no retry writes it: see `_unwritable`
            _unwritable(error, alert_id=alert.alert_id)
            return Settle.REJECT
        return await self._deliver(emails)

    async def handle_arrival(self, body: bytes, user_id: str | None) -> Settle:
        """Email the recipient's duty addresses about each arrival event of the batch in
        `body`, once.

        `user_id` must be the RabbitMQ user of every event's recipient agency: a batch
        published by anyone else, or naming any other recipient, is refused whole
        (dead-lettered) and nothing in it is emailed. An event no email can be written
        for is dead-lettered with its batch once the others are sent. Raises only what the
        sent log raises.
        """
        try:
            batch = Arrivals.model_validate_json(body)
        except ValidationError:
            log.warning("arrival events unreadable; rejected", count=len(body))
            return Settle.REJECT
        for arrival in batch.arrivals:
            if user_id is None or user_id != self._topology.agency_user(arrival.recipient):
                # Bound by well-formed fields only: both are validated ids.
                log.warning(
                    "arrival events not published by their recipient's gateway; refused",
                    message_id=arrival.message_id,
                    recipient=arrival.recipient,
                    count=len(batch.arrivals),
                )
                return Settle.REJECT
        emails: list[Email] = []
        unwritable: list[tuple[Arrival, Exception]] = []
        for arrival in batch.arrivals:
            try:
                emails.extend(self._writer.arrival_emails(arrival))
            except Exception as error:  # no retry writes it: see `_unwritable`
                unwritable.append((arrival, error))
        if unwritable:
            first, failure = unwritable[0]
            _unwritable(failure, message_id=first.message_id, count=len(unwritable))
        # Like an email refused for good, an event no email can be written for holds back
        # none of the others: they are sent, then the batch is dead-lettered.
        outcome = await self._deliver(emails)
        return Settle.REJECT if unwritable and outcome is Settle.ACK else outcome

    async def _deliver(self, emails: list[Email]) -> Settle:
        # One deadline for the whole delivery, not one per email: RabbitMQ's consumer
        # timeout counts from the delivery. What was sent by then is in the sent log.
        deadline = self._clock() + self._hold_s
        refused = False
        for email in emails:
            outcome = await self._locked(email, deadline)
            if outcome is Settle.REQUEUE:  # the server is failing or slow: the rest would be
                return outcome
            # Refused for good: this one only; the others still go before it is dead-lettered.
            refused = refused or outcome is Settle.REJECT
        return Settle.REJECT if refused else Settle.ACK

    async def _locked(self, email: Email, deadline: float) -> Settle:
        key = self._locks.get(email.key)
        if key is None:
            key = self._locks[email.key] = _KeyLock()
        key.users += 1
        try:
            left = deadline - self._clock()
            if left <= 0:
                return Settle.REQUEUE
            try:  # another delivery of this email may hold it for its own hold_s
                await asyncio.wait_for(key.lock.acquire(), left)
            except TimeoutError:
                return Settle.REQUEUE
            try:
                return await self._once(email, deadline)
            finally:
                key.lock.release()
        finally:
            # Dropped only once no delivery uses it: an unlocked lock may still have a
            # waiter woken but not yet run, and a fresh lock beside it would let two
            # deliveries send one email at once.
            key.users -= 1
            if not key.users:
                del self._locks[email.key]

    async def _once(self, email: Email, deadline: float) -> Settle:
        if await self._sent.was_sent(email.key):
            return Settle.ACK
        outcome = await self._send(email, deadline)
        if outcome is Settle.ACK:
            await self._sent.record_sent(email.key, time.time())
            log.info(
                "emailed",
                alert_id=email.alert_id,
                message_id=email.message_id,
                count=len(email.to),
            )
        return outcome

    async def _send(self, email: Email, deadline: float) -> Settle:
        while True:
            try:
                await self._mailer.send(email)
            except MailRefused as error:
                log.error(
                    "email refused by the mail server; dead-lettered",
                    alert_id=email.alert_id,
                    message_id=email.message_id,
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
                    message_id=email.message_id,
                )
                delay = backoff_delay(self._failures, cap_s=self._retry_max_s)
                if self._clock() + delay > deadline:
                    return Settle.REQUEUE
                await self._sleep(delay)
                continue
            self._failures = 0
            self._failing.resolved()
            return Settle.ACK


def _unwritable(error: Exception, **ids: str | int) -> None:
    # A template or a value it cannot show (a time past the year 9999 in an alert, a bug of
    # ours): writing it again fails again, so it is dead-lettered, not handed back to block
    # the queue. One line, ids and the error's type only: its text may quote a value.
    log.error("email not writable; dead-lettered", reason=type(error).__name__, **ids)
