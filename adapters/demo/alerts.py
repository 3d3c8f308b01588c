"""The demo watches the coordinators' alerts as they are published, to check each expected
one was raised (never assumed): it reads the alerts queue of the demo's vhost as RabbitMQ's
guest user, to which it grants reading that one queue only (an operator's tool would have a
user of its own; the demo is one machine's trial).
"""

import asyncio
import subprocess
from collections.abc import Callable
from contextlib import suppress

import aio_pika

from adapters.demo.federation import VHOST
from broker.errors import CaselinkError
from broker.operator.apply import RABBITMQCTL
from broker.topology.names import ALERTS_QUEUE
from schemas.alert import Alert

GUEST_URL = f"amqp://guest:guest@127.0.0.1:5672/{VHOST}"


class AlertWatchUnavailable(CaselinkError):
    """The demo cannot watch the alerts queue (guest missing, rabbitmqctl failing)."""

    reason = "alert_watch_unavailable"


def grant_guest_alerts() -> None:
    """Let guest read the demo vhost's alerts queue, and nothing else; raises
    AlertWatchUnavailable (one line) when rabbitmqctl cannot."""
    try:
        subprocess.run(  # noqa: S603 (fixed argv, no shell)
            [
                *RABBITMQCTL,
                "set_permissions",
                "-p",
                VHOST,
                "guest",
                "^$",
                "^$",
                f"^{ALERTS_QUEUE}$",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
        raise AlertWatchUnavailable(
            f"cannot let guest read the demo's alerts: {type(error).__name__}"
        ) from None


class AlertWatch:
    """Collects every alert published while it runs."""

    def __init__(self) -> None:
        self.seen: list[Alert] = []
        self._changed = asyncio.Event()
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect(GUEST_URL)
        channel = await self._connection.channel()
        queue = await channel.get_queue(ALERTS_QUEUE, ensure=False)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        with suppress(ValueError):
            self.seen.append(Alert.model_validate_json(message.body))
            self._changed.set()

    async def wait_for(self, matches: Callable[[Alert], bool], timeout_s: float) -> Alert | None:
        """The first alert that `matches`, waiting up to `timeout_s`; None when none came."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            for alert in self.seen:
                if matches(alert):
                    return alert
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            self._changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
