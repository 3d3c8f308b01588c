"""Cut the local RabbitMQ for real, and always bring it back."""

import asyncio
import subprocess

CTL_TIMEOUT_S = 120


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=CTL_TIMEOUT_S)


async def stop_app() -> None:
    """The node stays up but stops serving AMQP; every client connection is cut."""
    await asyncio.to_thread(_ctl, "stop_app")


async def start_app() -> None:
    """Serve again, and wait until the node has finished starting."""
    await asyncio.to_thread(_ctl, "start_app")
    await asyncio.to_thread(_ctl, "await_startup")
