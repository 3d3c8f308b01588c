"""The notifier's composition root: settings into a FastStream application on RabbitMQ.

The FastStream RabbitBroker reads the notifier's own two queues, of alerts and of arrival
events (declared by `caselink topology apply`, looked up passively here: the notifier user
may configure nothing) with manual acknowledgement, and hands each delivery's bytes and
RabbitMQ-checked `user_id` to `broker.notifier.service.Notifier`, whose answer says how to
settle it. Agencies are named in the emails from the verified directory file when the
settings name one (read again when the file changes). Nothing connects before `start()`
(or `FastStream.run()`, which the command line uses).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.schemas.queue import QueueType
from faststream.rabbit.security import RabbitExternalAuth
from faststream.security import BaseSecurity

from broker.envelope import DirectoryError, TrustedDirectory
from broker.live_directory import DirectoryFile
from broker.logs import get_logger
from broker.mail.smtp import SmtpMailer
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S
from broker.notifier.config import NotifierSettings
from broker.notifier.emails import AgencyNames, Writer, no_names
from broker.notifier.ports import Mailer
from broker.notifier.service import Notifier, Settle
from broker.store.notifier_store import SqlSentLog
from broker.tls.client import AmqpTls, login_url
from broker.topology.names import NOTIFIER_ARRIVALS_QUEUE, NOTIFIER_QUEUE, Topology
from broker.web.names import directory_names

log = get_logger(__name__)

# How long a stop waits for the deliveries being handled (an email being sent) before it
# hands them back unacked: an alert or a batch of arrival events, whose sent emails the
# sent log keeps.
GRACEFUL_S = 5.0


def notifier_security(tls: AmqpTls | None) -> BaseSecurity | None:
    """FastStream's form of the TLS settings: the context, and SASL EXTERNAL when asked."""
    if tls is None:
        return None
    if tls.external:
        return RabbitExternalAuth(ssl_context=tls.context)
    return BaseSecurity(ssl_context=tls.context, use_ssl=True)


class NotifierApp:
    """The notifier process: the sent log, the mailer and the FastStream consumer."""

    def __init__(self, settings: NotifierSettings, *, mailer: Mailer | None = None) -> None:
        self._settings = settings
        self._mailer = mailer or SmtpMailer(settings.smtp)
        self._sent: SqlSentLog | None = None
        self._notifier: Notifier | None = None
        tls = settings.amqp_tls()
        # logger=None: FastStream's own lines would name queues and message ids per
        # delivery, outside our log allowlist; the notifier logs what matters itself.
        self.broker = RabbitBroker(
            login_url(settings.amqp_url, tls),
            security=notifier_security(tls),
            default_channel=Channel(prefetch_count=settings.prefetch),
            graceful_timeout=GRACEFUL_S,
            logger=None,
        )
        for name, handler in (
            (NOTIFIER_QUEUE, self._on_alert),
            (NOTIFIER_ARRIVALS_QUEUE, self._on_arrival),
        ):
            queue = RabbitQueue(name, QueueType.QUORUM, declare=False)
            subscriber = self.broker.subscriber(
                queue, ack_policy=AckPolicy.MANUAL, no_reply=True, decoder=_undecoded
            )
            subscriber(handler)

    async def open(self) -> None:
        """Read the directory, open the sent log; raises DirectoryError, KeyFileError or what
        `SqlSentLog.open` raises."""
        names = self._names()
        self._sent = await SqlSentLog.open(self._settings.store_url)
        self._notifier = Notifier(
            sent=self._sent,
            mailer=self._mailer,
            writer=Writer(
                self._settings.agencies, dashboard_url=self._settings.dashboard_url, names=names
            ),
            topology=Topology(user_prefix=self._settings.user_prefix),
            retry_max_s=self._settings.retry_max_s,
            hold_s=self._settings.hold_s,
        )

    async def close(self) -> None:
        if self._sent is not None:
            await self._sent.close()
            self._sent = None

    async def start(self) -> None:
        """Open the sent log, then consume."""
        await self.open()
        await self.broker.start()

    async def stop(self) -> None:
        """Stop consuming (what is in flight goes back to the queue), then close the log."""
        await self.broker.stop()
        await self.close()

    def application(self) -> FastStream:
        """The FastStream application `caselink notifier` runs (until SIGINT or SIGTERM)."""
        return FastStream(
            self.broker, logger=None, on_startup=[self.open], after_shutdown=[self.close]
        )

    def _names(self) -> AgencyNames:
        s = self._settings
        if s.directory is None or s.root_pub is None:
            return no_names
        return directory_names(FollowedDirectory(DirectoryFile.at(s.directory, s.root_pub)))

    async def _on_alert(self, message: RabbitMessage) -> None:
        if self._notifier is None:  # consuming starts after open(): cannot happen
            await message.nack(requeue=True)
            return
        await self._settle(message, self._notifier.handle)

    async def _on_arrival(self, message: RabbitMessage) -> None:
        if self._notifier is None:  # consuming starts after open(): cannot happen
            await message.nack(requeue=True)
            return
        await self._settle(message, self._notifier.handle_arrival)

    async def _settle(
        self, message: RabbitMessage, handle: Callable[[bytes, str | None], Awaitable[Settle]]
    ) -> None:
        raw = message.raw_message
        # Only the sent log (the store) raises out of `handle`: what cannot be read or
        # written is rejected there. A store outage passes, so the delivery goes back, after
        # a pause that keeps a down database from spinning the queue.
        try:
            outcome = await handle(raw.body, raw.user_id)
        except Exception as error:
            log.error("delivery not handled; back to the queue", reason=type(error).__name__)
            await asyncio.sleep(OUTAGE_MAX_DELAY_S)
            await message.nack(requeue=True)
            return
        if outcome is Settle.ACK:
            await message.ack()
        elif outcome is Settle.REQUEUE:
            await message.nack(requeue=True)
        else:
            await message.reject(requeue=False)


class FollowedDirectory:
    """The verified directory of a file, read again when the file changes (for names only:
    a directory that fails to verify leaves the one read before in use, and is logged)."""

    def __init__(self, file: DirectoryFile) -> None:
        self._file = file
        self._stamp = file.stamp()
        self._current = file.load().trusted  # raises DirectoryError: the notifier won't start

    def __call__(self) -> TrustedDirectory:
        stamp = self._file.stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._current = self._file.load().trusted
            except DirectoryError as error:
                log.warning("directory file refused; names unchanged", reason=error.reason)
        return self._current


async def _undecoded(message: StreamMessage[Any]) -> bytes:
    # FastStream would parse a JSON content type itself, and a body that is not JSON would
    # then fail before the handler, left unacked with manual acks. The service parses.
    return message.body


def build_notifier_app(settings: NotifierSettings) -> NotifierApp:
    """The notifier for `settings`; connects to nothing until started."""
    return NotifierApp(settings)
