"""The notifier's composition root: settings into a FastStream application on RabbitMQ.

The FastStream RabbitBroker reads the notifier's own queue (declared by `caselink topology
apply`, looked up passively here: the notifier user may configure nothing) with manual
acknowledgement, and hands each delivery's bytes and RabbitMQ-checked `user_id` to
`broker.notifier.service.Notifier`, whose answer says how to settle it. Nothing connects
before `start()` (or `FastStream.run()`, which the command line uses).
"""

import asyncio
from typing import Any

from faststream import AckPolicy, FastStream
from faststream.message import StreamMessage
from faststream.rabbit import Channel, RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage
from faststream.rabbit.schemas.queue import QueueType

from broker.logs import get_logger
from broker.mail.smtp import SmtpMailer
from broker.messaging.backoff import OUTAGE_MAX_DELAY_S
from broker.notifier.config import NotifierSettings
from broker.notifier.ports import Mailer
from broker.notifier.service import Notifier, Settle
from broker.store.notifier_store import SqlSentLog
from broker.topology.names import NOTIFIER_QUEUE, Topology

log = get_logger(__name__)

# How long a stop waits for an email being sent before it hands the alert back unacked.
GRACEFUL_S = 5.0


class NotifierApp:
    """The notifier process: the sent log, the mailer and the FastStream consumer."""

    def __init__(self, settings: NotifierSettings, *, mailer: Mailer | None = None) -> None:
        self._settings = settings
        self._mailer = mailer or SmtpMailer(settings.smtp)
        self._sent: SqlSentLog | None = None
        self._notifier: Notifier | None = None
        # logger=None: FastStream's own lines would name queues and message ids per
        # delivery, outside our log allowlist; the notifier logs what matters itself.
        self.broker = RabbitBroker(
            settings.amqp_url,
            default_channel=Channel(prefetch_count=settings.prefetch),
            graceful_timeout=GRACEFUL_S,
            logger=None,
        )
        queue = RabbitQueue(NOTIFIER_QUEUE, QueueType.QUORUM, declare=False)
        subscriber = self.broker.subscriber(
            queue, ack_policy=AckPolicy.MANUAL, no_reply=True, decoder=_undecoded
        )
        subscriber(self._on_alert)

    async def open(self) -> None:
        """Open the sent log; raises what `SqlSentLog.open` raises."""
        self._sent = await SqlSentLog.open(self._settings.store_url)
        topology = Topology(user_prefix=self._settings.user_prefix)
        self._notifier = Notifier(
            sent=self._sent,
            mailer=self._mailer,
            contacts=self._settings.agencies,
            dashboard_url=self._settings.dashboard_url,
            tracker_user=topology.tracker_user(),
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

    async def _on_alert(self, message: RabbitMessage) -> None:
        if self._notifier is None:  # consuming starts after open(): cannot happen
            await message.nack(requeue=True)
            return
        raw = message.raw_message
        try:
            outcome = await self._notifier.handle(raw.body, raw.user_id)
        except Exception as error:  # the sent log failed: the alert goes back, unsent or not
            log.error("alert not handled; back to the queue", reason=type(error).__name__)
            await asyncio.sleep(OUTAGE_MAX_DELAY_S)
            await message.nack(requeue=True)
            return
        if outcome is Settle.ACK:
            await message.ack()
        elif outcome is Settle.REQUEUE:
            await message.nack(requeue=True)
        else:
            await message.reject(requeue=False)


async def _undecoded(message: StreamMessage[Any]) -> bytes:
    # FastStream would parse a JSON content type itself, and a body that is not JSON would
    # then fail before the handler, left unacked with manual acks. The service parses.
    return message.body


def build_notifier_app(settings: NotifierSettings) -> NotifierApp:
    """The notifier for `settings`; connects to nothing until started."""
    return NotifierApp(settings)
